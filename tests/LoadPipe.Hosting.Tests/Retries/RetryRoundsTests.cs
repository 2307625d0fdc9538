using LoadPipe.Core.Manifest;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Transfers;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Hosting.Retries;
using LoadPipe.Hosting.Tests.Support;

namespace LoadPipe.Hosting.Tests.Retries;

public sealed class RetryRoundsTests
{
    /// <summary>Records what the rounds report; after the first copy it can clear the fault, as an operator would.</summary>
    private sealed class Recorder(Action? afterFirstCopy = null) : IRetryRoundsObserver
    {
        public List<string> Events { get; } = [];

        public ITransferObserver Files { get; } = new NullFiles();

        public void RoundWaiting(int round, int maxRounds, int failedFiles, TimeSpan wait) =>
            Events.Add($"wait {round}/{maxRounds} {failedFiles} files {wait.TotalSeconds}s");

        public Task<TransferSummary> RunCopyAsync(Func<Task<TransferSummary>> copy) => copy();

        public void CopyFinished(TransferSummary summary)
        {
            Events.Add($"copy {summary.Status.Name()}");
            if (Events.Count(e => e.StartsWith("copy", StringComparison.Ordinal)) == 1) afterFirstCopy?.Invoke();
        }
    }

    private sealed class NullFiles : ITransferObserver;

    /// <summary>A session whose only file failed: its destination's folder is a file.</summary>
    private static async Task<long> FailedSessionAsync(HostFolder folder, LoadPipeHost host)
    {
        File.WriteAllText(folder["in.txt"], "hello, again");
        File.WriteAllText(folder["out"], "a file where a folder should be");
        var engine = host.CreateEngine(await host.ManifestAsync());
        var summary = await engine.CopyAsync(host.Resolver.Resolve(folder["in.txt"]), host.Resolver.Resolve(folder["out/in.txt"]),
            host.Options(new JobSettings { Retries = 0 }));
        Assert.Equal(SessionStatus.Failed, summary.Status);
        return summary.Session;
    }

    [Fact]
    public async Task RunAsync_FaultClearedAfterFirstRound_SecondRoundCopiesAndStops()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();
        var id = await FailedSessionAsync(folder, host);
        var recorder = new Recorder(afterFirstCopy: () => File.Delete(folder["out"]));

        var (session, retried, remaining) = await host.Retries.RunAsync(
            new RetryRequest(id, new JobSettings { Retries = 0 }, new Dictionary<string, string>()) { MaxRounds = 3, FirstDelay = TimeSpan.Zero },
            recorder);

        Assert.True(retried);
        Assert.Equal(["copy failed", "wait 2/3 1 files 0s", "copy completed"], recorder.Events);
        Assert.Equal(SessionStatus.Completed, session.Status);
        Assert.Equal(0, remaining);
        Assert.Equal("hello, again", File.ReadAllText(folder["out/in.txt"]));
    }

    [Fact]
    public async Task RunAsync_NothingFailed_CopiesNothing()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();
        var id = await FailedSessionAsync(folder, host);
        File.Delete(folder["out"]);
        await host.Retries.RunAsync(new RetryRequest(id, new JobSettings(), new Dictionary<string, string>()), new Recorder());
        var recorder = new Recorder();

        var (session, retried, remaining) = await host.Retries.RunAsync(new RetryRequest(id, new JobSettings(), new Dictionary<string, string>()) { MaxRounds = 3 }, recorder);

        Assert.False(retried);
        Assert.Empty(recorder.Events);
        Assert.Equal(SessionStatus.Completed, session.Status);
        Assert.Equal(0, remaining);
    }

    [Fact]
    public async Task RunAsync_FaultStays_TheFileRemains()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();
        var id = await FailedSessionAsync(folder, host);

        var (session, retried, remaining) = await host.Retries.RunAsync(
            new RetryRequest(id, new JobSettings { Retries = 0 }, new Dictionary<string, string>()), new Recorder());

        Assert.True(retried);
        Assert.Equal(SessionStatus.Failed, session.Status);
        Assert.Equal(1, remaining);
    }

    [Fact]
    public async Task RunAsync_FetchSession_IsUsageErrorNamingLpFetch()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();
        var manifest = await host.ManifestAsync();
        var id = await manifest.BeginSessionAsync(new SessionStart("fetch", "list.json", "fetch:sha256"));

        var e = await Assert.ThrowsAsync<LoadPipeException>(() =>
            host.Retries.RunAsync(new RetryRequest(id, new JobSettings(), new Dictionary<string, string>()), new Recorder()));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Equal($"session {id} is an lp fetch run: run lp fetch with the same list again (it skips the entries already done)", e.Message);
    }

    [Fact]
    public async Task RunAsync_UnknownSession_IsUsageError()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();

        var e = await Assert.ThrowsAsync<LoadPipeException>(() =>
            host.Retries.RunAsync(new RetryRequest(42, new JobSettings(), new Dictionary<string, string>()), new Recorder()));

        Assert.Equal("session 42 does not exist (see lp sessions)", e.Message);
    }
}
