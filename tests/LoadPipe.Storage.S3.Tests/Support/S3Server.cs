using System.Net;
using System.Net.Sockets;
using Amazon.S3;
using Amazon.S3.Model;
using LoadPipe.Core.Locations;
using LoadPipe.Storage.Local;
using LoadPipe.Storage.S3;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.S3.Tests.Support;

/// <summary>
/// The S3 server the tests run against: tests/s3rver/server.js (s3rver 3.7.1 plus ListParts, AbortMultipartUpload
/// and ListMultipartUploads), started by scripts/test.sh, which exports LP_TEST_S3_ENDPOINT and LP_TEST_S3_LOG.
/// Keys S3RVER / S3RVER, bucket test-bucket; every test writes under its own prefix.
/// </summary>
public static class S3Server
{
    public const string Bucket = "test-bucket";
    public const string Key = "S3RVER";
    public const string Remote = "s3t";

    public static string Endpoint =>
        Environment.GetEnvironmentVariable("LP_TEST_S3_ENDPOINT") is { Length: > 0 } endpoint ? endpoint.TrimEnd('/')
            : throw new InvalidOperationException(
                "LP_TEST_S3_ENDPOINT is not set: run scripts/test.sh, or start tests/s3rver/server.js (see its header) and export LP_TEST_S3_ENDPOINT=http://127.0.0.1:PORT");

    /// <summary>The server's log file, when test.sh started it (null when started by hand).</summary>
    public static string? LogFile => Environment.GetEnvironmentVariable("LP_TEST_S3_LOG") is { Length: > 0 } f && File.Exists(f) ? f : null;

    /// <summary>A fresh key prefix, so tests running side by side never see each other's objects.</summary>
    public static string NewPrefix(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 13)];

    public static RemoteDefinition Definition(string? endpoint = null, string key = Key, string secret = Key, int? listChunk = null, string name = Remote)
    {
        var settings = new Dictionary<string, string>
        {
            ["endpoint"] = endpoint ?? Endpoint,
            ["access_key_id"] = key,
            ["secret_access_key"] = secret,
        };
        if (listChunk is { } chunk) settings["list_chunk"] = chunk.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new RemoteDefinition(name, "s3", settings);
    }

    /// <summary>A resolver as the CLI builds one: local disk plus the test remote "s3t" (and any others given).</summary>
    public static LocationResolver Resolver(ILoggerFactory? loggers = null, params RemoteDefinition[] more)
    {
        var remotes = new Dictionary<string, RemoteDefinition> { [Remote] = Definition() };
        foreach (var r in more) remotes[r.Name] = r;
        return new LocationResolver([new LocalStorageFactory(), new S3StorageFactory(loggers)], remotes);
    }

    public static S3Storage Storage(RemoteDefinition? definition = null, ILoggerFactory? loggers = null) =>
        (S3Storage)new S3StorageFactory(loggers).Create(definition ?? Definition());

    /// <summary>An SDK client for setting up and inspecting the server behind the adapter's back.</summary>
    public static IAmazonS3 Client() => Storage().Client;

    public static async Task PutAsync(string key, byte[] content, string bucket = Bucket)
    {
        using var body = new MemoryStream(content);
        await Client().PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body, UseChunkEncoding = false });
    }

    public static async Task<byte[]> GetAsync(string key, string bucket = Bucket)
    {
        using var response = await Client().GetObjectAsync(bucket, key);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>A TCP port on 127.0.0.1 that nothing listens on.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The server's log lines that mention <paramref name="text"/>; empty when there is no log file.</summary>
    public static IReadOnlyList<string> LogLines(string text)
    {
        if (LogFile is not { } file) return [];
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            if (line.Contains(text, StringComparison.Ordinal)) lines.Add(line);
        return lines;
    }
}
