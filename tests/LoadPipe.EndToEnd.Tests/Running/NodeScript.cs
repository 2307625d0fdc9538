using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>
/// A node script of the test tree (tests/tus/client.js) run with the npm packages scripts/test.sh installs under
/// .artifacts/npm. It prints one JSON event a line; they are collected as they come, so a test can act on one (kill a
/// server once enough bytes went) while the script runs.
/// </summary>
public sealed class NodeScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<JsonElement> _events = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeScript(Process process) => _process = process;

    /// <summary>The repository's root (where tests/ and .artifacts/ are), found upwards from the test's folder.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string ModulesFolder => Path.Combine(RepositoryRoot, ".artifacts", "npm", "node_modules");

    /// <summary>Why the node tests cannot run here, or null when node and <paramref name="module"/> are both there.</summary>
    public static string? MissingReason(string module)
    {
        if (FindOnPath("node") is null) return "node is not installed (scripts/test.sh installs it)";
        return Directory.Exists(Path.Combine(ModulesFolder, module)) ? null : $"{module} is not under {ModulesFolder} (scripts/test.sh installs it)";
    }

    public IReadOnlyList<JsonElement> Events => [.. _events];
    public bool HasExited => _process.HasExited;

    public static NodeScript Start(string script, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(FindOnPath("node") ?? "node")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot, script));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["NODE_PATH"] = ModulesFolder;
        var process = new Process { StartInfo = info };
        var node = new NodeScript(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { node._stdoutClosed.TrySetResult(); return; }
            if (e.Data.StartsWith('{')) node._events.Enqueue(JsonDocument.Parse(e.Data).RootElement.Clone());
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) node._stderr.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Runs to the end and returns the last event (success, error or aborted).</summary>
    public static async Task<JsonElement> RunAsync(string script, params string[] args)
    {
        await using var node = Start(script, args);
        return await node.EndAsync();
    }

    /// <summary>Waits for the end (at most <paramref name="timeout"/>, default 5 minutes) and returns the last event.</summary>
    public async Task<JsonElement> EndAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _stdoutClosed.Task.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node did not end; stderr:\n{string.Join('\n', _stderr)}");
        }
        var last = _events.LastOrDefault(e => e.GetProperty("event").GetString() != "progress");
        return last.ValueKind == JsonValueKind.Undefined
            ? throw new InvalidOperationException($"node ended ({_process.ExitCode}) without an event; stderr:\n{string.Join('\n', _stderr)}")
            : last;
    }

    /// <summary>The most bytes a progress event reported so far.</summary>
    public long ProgressBytes => _events.Where(e => e.GetProperty("event").GetString() == "progress").Select(e => e.GetProperty("bytes").GetInt64()).DefaultIfEmpty(0).Max();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoadPipe.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (LoadPipe.slnx) is not above " + AppContext.BaseDirectory);
    }
}
