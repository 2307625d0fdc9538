using System.Globalization;
using System.Net.Http.Headers;
using System.Xml.Linq;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Ingest.Validation;

namespace LoadPipe.Server.Tests.Support;

/// <summary>
/// `lp serve` as the seed's ingester runs in production, every real service together: PostgreSQL as the manifest (a
/// database of the test's own), an S3 element on s3rver (a bucket of the test's own, reached through a
/// <see cref="TcpForwarder"/> so that the test can fail it), a local element beside it, clamd scanning every file,
/// Redis for discovery and for the saga's publish step (channels of the test's own), and JWT auth. Every service is
/// named by its LP_TEST_* variable; a missing one fails the test.
/// </summary>
public sealed class SeedStack : IAsyncDisposable
{
    public const string S3ElementId = "se-s3";
    public const string LocalElementId = "se-local";
    public const string Remote = "seeds3";

    private static readonly HttpClient S3 = new();

    private readonly PostgresDatabase _database;
    private readonly DirectoryInfo _root;

    private readonly Func<Task<RunningServer>> _start;

    private SeedStack(PostgresDatabase database, DirectoryInfo root, TcpForwarder s3, string bucket, Func<Task<RunningServer>> start, RunningServer server,
        RedisAddress redis, string filesChannel)
    {
        _database = database;
        _root = root;
        S3Link = s3;
        Bucket = bucket;
        _start = start;
        Server = server;
        Redis = redis;
        FilesChannel = filesChannel;
    }

    public RunningServer Server { get; private set; }

    /// <summary>Stops the server (what it held in memory is gone) and starts another on the same manifest, elements and services.</summary>
    public async Task RestartAsync()
    {
        await Server.DisposeAsync();
        Server = await _start();
    }
    public HttpClient Client => Server.Client;

    /// <summary>The link between the server and s3rver: cut it to fail the S3 element.</summary>
    public TcpForwarder S3Link { get; }

    public string Bucket { get; }
    public RedisAddress Redis { get; }
    public string FilesChannel { get; }
    public string LocalFolder => Path.Combine(_root.FullName, LocalElementId);

    private static string Variable(string name, string starts) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v
        : throw new InvalidOperationException($"{name} is not set: run scripts/test.sh, which starts {starts}");

    public static string S3Endpoint => Variable("LP_TEST_S3_ENDPOINT", "s3rver").TrimEnd('/');

    public static ClamAvSettings Clamd()
    {
        var address = Variable("LP_TEST_CLAMD", "clamd");
        var colon = address.LastIndexOf(':');
        return new ClamAvSettings(address[..colon], int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(60), FailOpen: false);
    }

    public static async Task<SeedStack> StartAsync(Func<IngestSettings, IngestSettings>? change = null)
    {
        var redis = RedisAddress.Parse("redis://" + Variable("LP_TEST_REDIS", "redis-server"));
        var clamd = Clamd();
        var s3 = S3Endpoint;
        var database = await PostgresDatabase.CreateAsync();
        var root = Directory.CreateTempSubdirectory("lp-seed-");
        var bucket = "lp-seed-" + Guid.NewGuid().ToString("N")[..12];
        using (var created = await S3.PutAsync($"{s3}/{bucket}", null))
            Assert.True(created.IsSuccessStatusCode, $"s3rver did not create the bucket {bucket}: {(int)created.StatusCode}");
        var link = new TcpForwarder(new Uri(s3));
        var suffix = Guid.NewGuid().ToString("N");
        var filesChannel = $"lp-test:files:{suffix}";
        var config = string.Create(CultureInfo.InvariantCulture, $"""
            remotes:
              {Remote}:
                type: s3
                endpoint: {link.Endpoint}
                region: us-east-1
                path_style: true
                access_key_id: S3RVER
                secret_access_key: S3RVER

            """);
        async Task<RunningServer> StartServerAsync()
        {
            var server = await RunningServer.StartAsync(jwt: true, manifest: database.ConnectionString, configYaml: config, configure: s =>
            {
                var ingest = IngestSettings.From(new IngestConfig
                {
                    StorageElements =
                    [
                        // The S3 element is in the preferred region: files go there while it is healthy.
                        new StorageElementConfig { Id = S3ElementId, Location = $"{Remote}:{bucket}/se/", Mode = "edit", Region = "eu", Capacity = 10L << 30 },
                        new StorageElementConfig { Id = LocalElementId, Location = Path.Combine(root.FullName, LocalElementId) + "/", Mode = "edit", Region = "us" },
                    ],
                    PreferredRegion = "eu",
                    StorageSelection = "least_used",
                    // Checks after the first only when the test runs them, so that they do not race what it asserts.
                    HealthCheckInterval = TimeSpan.FromDays(1),
                    CircuitBreakerTimeout = TimeSpan.FromSeconds(1),
                    PublishChannel = filesChannel,
                    MaxFileSize = 200L << 20,
                }, s.Destination) with
                {
                    ClamAv = clamd,
                    AllowedMimeTypes = ["application/pdf", "application/msword", "image/*", "text/plain"],
                    Discovery = new DiscoverySettings(redis, $"lp-test:storage-elements:{suffix}", Path.Combine(root.FullName, "no-fallback.json")),
                };
                return s with { Ingest = change?.Invoke(ingest) ?? ingest };
            });
            server.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tokens.Hs256("upload read delete transfer"));
            server.Client.Timeout = TimeSpan.FromMinutes(10);
            return server;
        }
        return new SeedStack(database, root, link, bucket, StartServerAsync, await StartServerAsync(), redis, filesChannel);
    }

    /// <summary>The keys in the bucket (ListObjectsV2, straight to s3rver, not through the link).</summary>
    public async Task<IReadOnlyList<string>> ObjectsAsync()
    {
        using var response = await S3.GetAsync($"{S3Endpoint}/{Bucket}?list-type=2&max-keys=1000");
        response.EnsureSuccessStatusCode();
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync());
        return xml.Descendants().Where(e => e.Name.LocalName == "Key").Select(e => e.Value).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>An object's bytes, straight from s3rver.</summary>
    public async Task<byte[]> ObjectAsync(string key)
    {
        using var response = await S3.GetAsync($"{S3Endpoint}/{Bucket}/{key}");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>The files under the local element's folder, relative to it.</summary>
    public IReadOnlyList<string> LocalFiles() => Directory.Exists(LocalFolder)
        ? Directory.EnumerateFiles(LocalFolder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(LocalFolder, f)).Order(StringComparer.Ordinal).ToList()
        : [];

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await S3Link.DisposeAsync();
        try
        {
            foreach (var key in await ObjectsAsync()) (await S3.DeleteAsync($"{S3Endpoint}/{Bucket}/{key}")).Dispose();
            (await S3.DeleteAsync($"{S3Endpoint}/{Bucket}")).Dispose();
        }
        catch (HttpRequestException)
        {
        }
        await _database.DisposeAsync();
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
