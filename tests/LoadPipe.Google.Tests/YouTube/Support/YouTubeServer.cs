using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Storage.Local;
using LoadPipe.Storage.YouTube;
using LoadPipe.Testing.Google;

namespace LoadPipe.Google.Tests.YouTube.Support;

/// <summary>The Google protocol server for one test class, and how a test reaches it: a youtube sink with a fixed token.</summary>
public sealed class YouTubeServer : IAsyncLifetime
{
    public const int MiB = 1 << 20;

    private GoogleProtocolServer? _google;
    private GoogleServices? _services;

    public GoogleProtocolServer Google => _google ?? throw new InvalidOperationException("the server has not started");

    public async Task InitializeAsync()
    {
        _google = await GoogleProtocolServer.StartAsync();
        _services = new GoogleServices(new HttpClient { Timeout = TimeSpan.FromSeconds(60) });
    }

    public async Task DisposeAsync()
    {
        _services?.Http.Dispose();
        if (_google is not null) await _google.DisposeAsync();
    }

    /// <summary>A youtube remote named <paramref name="name"/> on this server; its ledger and history live in <paramref name="manifest"/>.</summary>
    public YouTubeStorage Sink(IManifest manifest, string name, TimeProvider? time = null, Dictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string>
        {
            ["api_url"] = Google.YouTubeApiUri.ToString(),
            ["upload_url"] = Google.YouTubeUploadUri.ToString(),
        };
        foreach (var (k, v) in settings ?? []) all[k] = v;
        var options = YouTubeOptions.From(new RemoteDefinition(name, "youtube", all));
        var token = Google.IssueToken([.. YouTubeDefaults.Scopes]).AccessToken;
        return new YouTubeStorageFactory(_services!, _ => Task.FromResult(manifest)).Create(options, new FixedTokenSource(token), time);
    }

    /// <summary>The root of a youtube remote as `NAME:` resolves it.</summary>
    public static Location Root(YouTubeStorage sink) => new(sink, "", sink.Options.Name + ":");

    public static byte[] Random(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));
}

/// <summary>A fresh local folder per test, removed afterwards, and locations in it.</summary>
public sealed class LocalFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lp-youtube-test-").FullName;

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public string Write(string relative, byte[] content)
    {
        var full = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    public Location At(string relative) => new(new LocalStorage(), this[relative], this[relative], relative.EndsWith('/'));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
