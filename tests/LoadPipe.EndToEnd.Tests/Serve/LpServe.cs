using System.Net;
using System.Net.Sockets;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Serve;

/// <summary>
/// `lp serve` as a real process in a sandbox: `auth: none` on 127.0.0.1 and a free port, uploads to the sandbox's
/// uploads/ folder, its manifest the sandbox's. Ready once /health/ready answers 200 (polled, no sleeps). The port stays
/// the same across <see cref="RestartAsync"/>, so upload URLs stay valid.
/// </summary>
public sealed class LpServe : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly Sandbox _sandbox;
    private readonly string _config;
    private LpProcess? _process;

    private LpServe(Sandbox sandbox, string config, int port)
    {
        _sandbox = sandbox;
        _config = config;
        Port = port;
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}/files/";
    public string Uploads => _sandbox.PathOf("uploads/x")[..^2];

    /// <summary>Starts lp serve; <paramref name="uploadsYaml"/> adds lines to the config's `uploads:` section.</summary>
    public static async Task<LpServe> StartAsync(Sandbox sandbox, string uploadsYaml = "")
    {
        var config = sandbox.PathOf("serve.yaml");
        var uploads = sandbox.PathOf("uploads/x")[..^2];
        await File.WriteAllTextAsync(config, $"""
            server:
              auth: none
              uploads:
                destination: {uploads}/
            {string.Concat(uploadsYaml.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l + "\n"))}
            """);
        var serve = new LpServe(sandbox, config, FreePort());
        await serve.RestartAsync();
        return serve;
    }

    /// <summary>Starts the server (again), and waits until it is ready.</summary>
    public async Task RestartAsync()
    {
        _process = _sandbox.StartLp("serve", "--config", _config, "--listen", $"127.0.0.1:{Port}");
        var process = _process;
        var ready = false;
        await Poll.UntilAsync(() =>
        {
            try
            {
                using var response = Http.GetAsync($"http://127.0.0.1:{Port}/health/ready").GetAwaiter().GetResult();
                return ready = response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(1), () => "lp serve did not become ready", giveUp: () => process.HasExited);
        Assert.True(ready);
    }

    /// <summary>kill -9.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        await _process.KillAsync();
        await _process.DisposeAsync();
        _process = null;
    }

    /// <summary>HEAD of an upload: its status and Upload-Offset (null when absent).</summary>
    public static async Task<(HttpStatusCode Status, long? Offset)> HeadAsync(string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, response.Headers.TryGetValues("Upload-Offset", out var v) ? long.Parse(v.Single(), System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
