using System.Diagnostics;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Tests.Support;

/// <summary>
/// Another process holding a transfer lock: this test assembly run as <see cref="LockHolderProgram"/>. Killing it
/// (SIGKILL) leaves behind what a crashed <c>lp</c> leaves.
/// </summary>
public sealed class LockHolder : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    private LockHolder(Process process) => _process = process;

    /// <summary>Starts the process and returns once it holds the lock on <paramref name="key"/>; throws if it could not take it.</summary>
    public static async Task<LockHolder> StartAsync(string backend, string target, TransferKey key)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { typeof(LockHolder).Assembly.Location, "hold-lock", backend, target, key.Source, key.Destination, key.Pipeline })
            info.ArgumentList.Add(arg);
        var holder = new LockHolder(Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet"));
        var stderr = holder._process.StandardError.ReadToEndAsync();
        string? said;
        try
        {
            said = await holder._process.StandardOutput.ReadLineAsync().WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            said = "nothing in " + StartTimeout;
        }
        if (said == "held") return holder;
        await holder.DisposeAsync();
        throw new InvalidOperationException($"the lock-holding process said '{said}' instead of 'held': {await stderr}");
    }

    /// <summary>SIGKILL, as the kernel's OOM killer or kill -9 would: no handler runs, no lock is released by the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await KillAsync();
        _process.Dispose();
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
