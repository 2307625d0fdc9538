using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.S3;

/// <summary>
/// An S3 server of the test's own: tests/s3rver/server.js on 127.0.0.1, started the way scripts/test.sh starts the
/// shared one (start_s3: NODE_PATH at .artifacts/npm/node_modules, the legacy OpenSSL provider, bucket test-bucket),
/// so a test may kill it (-9) in the middle of a run and start it again on the same port over the same data.
/// Its log lines are kept, to tell when the server has stored what.
/// </summary>
public sealed class S3rverProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory;
    private readonly List<string> _log = [];
    private Process? _process;

    /// <summary>A server that will keep its objects in <paramref name="dataDirectory"/> and listen on a free port; not
    /// started yet (until then its endpoint refuses connections).</summary>
    public S3rverProcess(string dataDirectory)
    {
        _dataDirectory = dataDirectory;
        Port = FreePort();
    }

    public int Port { get; }

    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}");

    /// <summary>A server on a free port, started.</summary>
    public static async Task<S3rverProcess> StartAsync(string dataDirectory)
    {
        var server = new S3rverProcess(dataDirectory);
        await server.StartAsync();
        return server;
    }

    /// <summary>A TCP port on 127.0.0.1 that nothing listened on a moment ago (the OS picked it, then it was let go).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>How many log lines so far (over every start) contain <paramref name="text"/> (e.g. "Stored object").</summary>
    public int CountLogLines(string text)
    {
        lock (_log) return _log.Count(l => l.Contains(text, StringComparison.Ordinal));
    }

    /// <summary>Starts the server (again, after <see cref="KillAsync"/>) on <see cref="Port"/> over the same data, and
    /// returns once it listens.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("the S3 server is running");
        var started = CountLogLines("listening on");
        var root = RepositoryRoot();
        var modules = Path.Combine(root, ".artifacts", "npm", "node_modules");
        if (!Directory.Exists(Path.Combine(modules, "s3rver")))
            throw new InvalidOperationException($"s3rver is not installed in {modules}: run scripts/test.sh once, which installs it");
        var info = new ProcessStartInfo("node")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                Path.Combine(root, "tests", "s3rver", "server.js"),
                "-d", _dataDirectory, "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture),
                "--configure-bucket", S3Remote.Bucket,
            },
        };
        info.Environment["NODE_PATH"] = modules;
        info.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        if (!process.Start()) throw new InvalidOperationException("could not start node");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await Poll.UntilAsync(() => CountLogLines("listening on") > started, StartTimeout,
            () => $"the S3 server did not start on port {Port}; its log:\n{Log()}", giveUp: () => process.HasExited);
    }

    /// <summary>kill -9; returns once the process is gone (and its port closed).</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public string Log()
    {
        lock (_log) return string.Join('\n', _log);
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_log) _log.Add(line);
    }

    /// <summary>The folder holding LoadPipe.slnx, above the test assembly (tests/.../bin/CONFIG/TFM/).</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoadPipe.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no LoadPipe.slnx above {AppContext.BaseDirectory}");
    }
}
