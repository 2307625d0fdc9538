using System.Net;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Tus;

namespace LoadPipe.Server.Tests.Support;

/// <summary>
/// `lp serve` in this process: a real Kestrel on 127.0.0.1 with a free port, a SQLite manifest and a local destination
/// in the test's own folder, and the real push entry. Requests go over real HTTP.
/// </summary>
public sealed class RunningServer : IAsyncDisposable
{
    public const string Secret = "a-test-secret-of-more-than-32-characters";

    private readonly DirectoryInfo _root;
    private readonly LoadPipeHost _host;

    private RunningServer(DirectoryInfo root, LoadPipeHost host, LoadPipeServer server, HttpClient client)
    {
        _root = root;
        _host = host;
        Server = server;
        Client = client;
    }

    public LoadPipeServer Server { get; }
    public HttpClient Client { get; }
    public TusStore Store => Server.Store;

    /// <summary>The host the server runs on: its manifest is the one `lp status` reads.</summary>
    public LoadPipeHost Host => _host;

    /// <summary>Where finished uploads land (a local folder).</summary>
    public string Destination => Path.Combine(_root.FullName, "uploads");

    /// <summary>Starts a server without auth (loopback), or with HS256 tokens signed with <see cref="Secret"/>; its manifest
    /// is a SQLite file of its own unless <paramref name="manifest"/> names one. <paramref name="configYaml"/> is the
    /// host's config file (its remotes, for elements on them); empty by default.</summary>
    public static async Task<RunningServer> StartAsync(bool jwt = false, Func<ServerSettings, ServerSettings>? configure = null, TimeProvider? time = null,
        string? manifest = null, Func<LoadPipeHostSettings, LoadPipeHostSettings>? host = null, string configYaml = "")
    {
        var root = Directory.CreateTempSubdirectory("lp-server-");
        var config = Path.Combine(root.FullName, "config.yaml");
        await File.WriteAllTextAsync(config, configYaml);
        var hostSettings = new LoadPipeHostSettings
        {
            ConfigPath = config,
            Manifest = manifest ?? Path.Combine(root.FullName, "manifest.db"),
            Environment = _ => null,
            Time = time,
        };
        var loadPipeHost = LoadPipeHost.Create(host?.Invoke(hostSettings) ?? hostSettings);
        var settings = new ServerSettings
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            ListenText = "127.0.0.1:0",
            Jwt = jwt ? new ServerAuthConfig { Hs256Secret = Secret } : null,
            Destination = Path.Combine(root.FullName, "uploads") + "/",
        };
        settings = configure?.Invoke(settings) ?? settings;
        var server = LoadPipeServer.Create(loadPipeHost, settings, ct => PushEntry.OpenAsync(loadPipeHost, settings.Destination, ct, chunkSize: settings.Ingest?.ChunkSize));
        await server.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(server.Addresses.First()), Timeout = TimeSpan.FromMinutes(2) };
        return new RunningServer(root, loadPipeHost, server, client);
    }

    /// <summary>A request with `Tus-Resumable: 1.0.0`, as every tus request but OPTIONS carries.</summary>
    public static HttpRequestMessage Tus(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add(TusHeaders.Resumable, TusHeaders.Version);
        return request;
    }

    /// <summary>The objects at the destination and in the staging folder, as paths relative to the destination.</summary>
    public IReadOnlyList<string> StoredFiles() =>
        Directory.Exists(Destination)
            ? Directory.EnumerateFiles(Destination, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Destination, f)).Order().ToList()
            : [];

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        await _host.DisposeAsync();
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
