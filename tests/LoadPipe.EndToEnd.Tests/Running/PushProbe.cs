using System.Diagnostics;
using System.Reflection;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>
/// tests/LoadPipe.Testing.PushProbe as a real process: it drives the push entry through <c>LoadPipeHost</c> from
/// commands the test writes on its standard input, one answer a line (see its Program.cs). Killing it with -9 leaves
/// what a crashed server leaves. Its environment is cut off from the machine's as <see cref="LpProcess"/>'s is.
/// </summary>
public sealed class PushProbe : IAsyncDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromMinutes(2);
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private PushProbe(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public static PushProbe Start(Sandbox sandbox, string? config = null)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = sandbox.Root,
        };
        info.ArgumentList.Add(ProbeDll());
        info.ArgumentList.Add("--manifest");
        info.ArgumentList.Add(sandbox.Manifest);
        if (config is not null)
        {
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(config);
        }
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("LP_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        info.Environment["XDG_CONFIG_HOME"] = sandbox.PathOf(".config");
        info.Environment["XDG_DATA_HOME"] = sandbox.PathOf(".local/share");
        return new PushProbe(Process.Start(info) ?? throw new InvalidOperationException("could not start the push probe"));
    }

    /// <summary>Sends one command and returns the line it answered.</summary>
    public async Task<string> AskAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        string? answer;
        try
        {
            answer = await _process.StandardOutput.ReadLineAsync().WaitAsync(AnswerTimeout);
        }
        catch (TimeoutException)
        {
            answer = null;
        }
        return answer ?? throw new InvalidOperationException(
            $"the push probe did not answer '{command}'{(_process.HasExited ? $" (it exited with {_process.ExitCode})" : "")}: {(_process.HasExited ? await _stderr : "")}");
    }

    /// <summary>kill -9: no handler runs, nothing is flushed or released by the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await KillAsync();
        _process.Dispose();
    }

    private static string ProbeDll()
    {
        var path = typeof(PushProbe).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PushProbeDll").Value!;
        return File.Exists(path) ? path : throw new FileNotFoundException($"the push probe is not at {path}: build tests/LoadPipe.Testing.PushProbe first", path);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
