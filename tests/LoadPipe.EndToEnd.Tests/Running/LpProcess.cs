using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>
/// One `lp` run as a real process, its environment cut off from the machine's: no LP_*
/// variables, XDG folders inside the test's sandbox. Standard output and error are read as they come, so a
/// chatty process never blocks on a full pipe. The program is the one users run when <see cref="ProgramVariable"/>
/// names it (scripts/test.sh sets it to ./lp's build, the native one where it can be made), else `dotnet lp.dll` from
/// the CLI project's build output.
/// </summary>
public sealed class LpProcess : IAsyncDisposable
{
    /// <summary>Longest any single run may take before the test gives up on it.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The path of an lp executable to run instead of `dotnet lp.dll`.</summary>
    public const string ProgramVariable = "LP_TEST_PROGRAM";

    private static readonly Lazy<string> LpDll = new(FindLpDll);
    private static readonly string? Program = FindProgram();
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly StringBuilder _stderrSoFar;
    private readonly string _commandLine;

    private LpProcess(Process process, Task<string> stdout, Task<string> stderr, StringBuilder stderrSoFar, string commandLine)
    {
        _process = process;
        _stdout = stdout;
        _stderr = stderr;
        _stderrSoFar = stderrSoFar;
        _commandLine = commandLine;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>What lp has written to stderr so far, while it runs.</summary>
    public string StderrSoFar
    {
        get { lock (_stderrSoFar) return _stderrSoFar.ToString(); }
    }

    /// <summary>The process's standard input, when it was started with <c>redirectStdin</c>.</summary>
    public Stream StandardInput => _process.StandardInput.BaseStream;

    /// <summary>Runs lp to its end.</summary>
    public static async Task<LpResult> RunAsync(Sandbox sandbox, params string[] args)
    {
        await using var lp = Start(sandbox, args);
        return await lp.WaitAsync();
    }

    /// <summary>Starts lp in <paramref name="sandbox"/>'s folder.</summary>
    /// <param name="stdout">When given, lp's standard output bytes are copied into it, and it is closed at the end
    /// (to feed another process's stdin); otherwise they are collected as text.</param>
    /// <param name="redirectStdin">Keep lp's standard input open for the test to write.</param>
    /// <param name="closeStdoutAfter">When given, lp's standard output is read up to this many bytes and then closed,
    /// as `lp pull ... | head -c N` does; the bytes are dropped.</param>
    public static LpProcess Start(Sandbox sandbox, IEnumerable<string> args, Stream? stdout = null, bool redirectStdin = false, long? closeStdoutAfter = null)
    {
        var info = new ProcessStartInfo(Program ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            WorkingDirectory = sandbox.Root,
            StandardErrorEncoding = Encoding.UTF8,
            StandardOutputEncoding = Encoding.UTF8,
        };
        if (Program is null) info.ArgumentList.Add(LpDll.Value);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("LP_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        info.Environment["XDG_CONFIG_HOME"] = sandbox.PathOf(".config");
        info.Environment["XDG_DATA_HOME"] = sandbox.PathOf(".local/share");

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + info.FileName);
        var stderrSoFar = new StringBuilder();
        var stderr = CollectAsync(process.StandardError, stderrSoFar);
        var output = closeStdoutAfter is { } limit ? ReadThenCloseAsync(process.StandardOutput.BaseStream, limit)
            : stdout is null ? process.StandardOutput.ReadToEndAsync()
            : PumpAsync(process.StandardOutput.BaseStream, stdout);
        return new LpProcess(process, output, stderr, stderrSoFar, "lp " + string.Join(' ', args));
    }

    private static async Task<string> CollectAsync(StreamReader reader, StringBuilder seen)
    {
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
            lock (seen) seen.Append(buffer, 0, n);
        lock (seen) return seen.ToString();
    }

    /// <summary>Waits for the end of the run; a run that outlives <paramref name="timeout"/> is killed and fails the test.</summary>
    public async Task<LpResult> WaitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            throw new TimeoutException($"`{_commandLine}` did not end within {timeout ?? DefaultTimeout}; stderr:\n{await _stderr}");
        }
        return new LpResult(_commandLine, _process.ExitCode, await _stdout, await _stderr);
    }

    /// <summary>Sends SIGTERM (what `kill PID` or a service manager sends), which lp treats like Ctrl-C.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("could not start kill");
        await kill.WaitForExitAsync();
        Assert.True(kill.ExitCode == 0, $"kill -TERM {_process.Id} failed with exit code {kill.ExitCode}");
    }

    /// <summary>Sends SIGINT, what Ctrl-C in a terminal sends.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-INT", _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("could not start kill");
        await kill.WaitForExitAsync();
        Assert.True(kill.ExitCode == 0, $"kill -INT {_process.Id} failed with exit code {kill.ExitCode}");
    }

    /// <summary>kill -9, with everything it started; returns once the process is gone.</summary>
    public async Task<LpResult> KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        return new LpResult(_commandLine, _process.ExitCode, await _stdout, await _stderr);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static async Task<string> PumpAsync(Stream from, Stream to)
    {
        await using (to)
            await from.CopyToAsync(to, 1 << 16);
        return "";
    }

    private static async Task<string> ReadThenCloseAsync(Stream from, long limit)
    {
        await using (from)
        {
            var buffer = new byte[64 << 10];
            for (long read = 0; read < limit;)
            {
                var n = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - read)));
                if (n == 0) break;
                read += n;
            }
        }
        return "";
    }

    private static string? FindProgram()
    {
        var path = Environment.GetEnvironmentVariable(ProgramVariable);
        if (string.IsNullOrEmpty(path)) return null;
        return File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"{ProgramVariable} names {path}, which does not exist", path);
    }

    private static string FindLpDll()
    {
        var path = typeof(LpProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "LpDll").Value;
        return File.Exists(path) ? path : throw new FileNotFoundException($"lp.dll is not at {path}: build the CLI project first", path);
    }
}
