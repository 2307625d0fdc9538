using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// What a run that does not complete reports: with --json it still ends with its JSON line (status and error), and
/// its counts, in that line and in `lp status`, are what it did, whenever and however it stopped.
/// </summary>
public sealed class RunReportTests(FileServer server) : IClassFixture<FileServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Copy_MissingSourceWithJson_EndsWithAFailedJsonLine()
    {
        using var sandbox = new Sandbox();

        var run = await sandbox.LpAsync("copy", sandbox.PathOf("in/nothing-here.bin"), sandbox.PathOf("out/"), "--json");

        run.AssertExitCode(1);
        AssertFailedLine(run, "nothing-here.bin");
    }

    [Theory]
    [InlineData(404, "no such file")]
    [InlineData(500, "HTTP 500")]
    public async Task Copy_HttpSourceAnsweringAnErrorWithJson_EndsWithAFailedJsonLine(int status, string cause)
    {
        using var sandbox = new Sandbox();
        var name = $"refused-{status}.bin";
        server.Inject(name, Fault.Respond(status));

        var run = await sandbox.LpAsync("copy", server.UrlOf(name), sandbox.PathOf("out/"), "--retries", "0", "--json");

        run.AssertExitCode(1);
        AssertFailedLine(run, cause);
    }

    [Fact]
    public async Task Copy_UnknownRemoteWithJson_EndsWithAFailedJsonLine()
    {
        using var sandbox = new Sandbox();

        var run = await sandbox.LpAsync("copy", "nosuchremote:file.bin", sandbox.PathOf("out/"), "--json");

        run.AssertExitCode(2);
        AssertFailedLine(run, "nosuchremote");
    }

    [Fact]
    public async Task Copy_InterruptedWithJson_ExitsWith130AndEndsWithAnInterruptedJsonLine()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 64 << 20, seed: 140);

        await using var lp = sandbox.StartLp("copy", source, sandbox.PathOf("out/data.bin"), "--chunk-size", "1M", "--bwlimit", "4M", "--json");
        await Eventually.ValueAsync(() => ManifestProbe.ConfirmedBytesAsync(sandbox), confirmed => confirmed > 0, Wait,
            confirmed => $"{confirmed} bytes confirmed", giveUp: () => lp.HasExited);
        await lp.InterruptAsync();
        var run = await lp.WaitAsync();

        run.AssertExitCode(130);
        var summary = run.Summary;
        Assert.Equal("interrupted", summary.Status);
        Assert.False(string.IsNullOrEmpty(summary.Error), $"no error in the JSON line\n{run}");
        Assert.True(summary.Session > 0, $"no session in the JSON line\n{run}");
        Assert.InRange(summary.BytesSent, 1, 64L << 20);
    }

    [Fact]
    public async Task Copy_KilledMidFile_StatusShowsTheBytesSentBeforeTheKill()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 64 << 20, seed: 141);

        await using (var lp = sandbox.StartLp("copy", source, sandbox.PathOf("out/data.bin"), "--chunk-size", "1M", "--bwlimit", "4M"))
        {
            // The running session's counts reach the manifest while it runs: kill -9 once they have.
            await Eventually.ValueAsync(() => ManifestProbe.SessionBytesSentAsync(sandbox), sent => sent > 0, Wait,
                sent => $"the session records {sent} bytes sent", giveUp: () => lp.HasExited);
            await lp.KillAsync();
        }
        var confirmed = await ManifestProbe.ConfirmedBytesAsync(sandbox);

        var session = Assert.Single(await ManifestProbe.SessionsAsync(sandbox));
        Assert.Equal("interrupted", session.GetProperty("status").GetString());
        // Never more than the destination confirmed, and not nothing: true up to the last save.
        Assert.InRange(session.GetProperty("bytes_sent").GetInt64(), 1, confirmed);
    }

    [Fact]
    public async Task Copy_SourceFailingMidFile_JsonAndStatusCountTheBytesSentBeforeTheFailure()
    {
        using var sandbox = new Sandbox();
        const int cutAt = 6 << 20;
        server.PublishRandom("cut.bin", 16 << 20, seed: 142);
        // Every read of the body stalls after 6 MiB (sent whole and flushed, unlike a cut connection, whose reset may
        // drop bytes the client had not read yet); the idle timeout then fails the file, without retries.
        server.Inject("cut.bin", Fault.None, Fault.StallAfter(cutAt));
        var config = server.WriteRemoteConfig(sandbox.Root, timeout: "2s");

        var run = await sandbox.LpAsync("copy", "files:cut.bin", sandbox.PathOf("out/cut.bin"), "--config", config, "--chunk-size", "1M", "--retries", "0", "--json");

        run.AssertExitCode(1);
        var summary = run.Summary;
        Assert.Equal("failed", summary.Status);
        // The chunks before the cut were written and confirmed (a rerun resumes from them): they were sent.
        Assert.InRange(summary.BytesSent, 4 << 20, cutAt);
        var session = Assert.Single(await ManifestProbe.SessionsAsync(sandbox));
        Assert.Equal(summary.BytesSent, session.GetProperty("bytes_sent").GetInt64());
    }

    [Theory]
    [InlineData("99999")]
    [InlineData("-1")]
    public async Task Status_SessionThatDoesNotExist_ExitsWith2AndOneErrorLine(string session)
    {
        using var sandbox = new Sandbox();
        (await sandbox.LpAsync("status")).AssertExitCode(0);

        var run = await sandbox.LpAsync("status", session);

        run.AssertExitCode(2);
        Assert.Contains($"session {session} does not exist", run.AssertOneErrorLine());
    }

    /// <summary>The last stdout line is the run's JSON line: failed, with the error, which names <paramref name="cause"/>.</summary>
    private static void AssertFailedLine(LpResult run, string cause)
    {
        var summary = run.Summary;
        Assert.Equal("failed", summary.Status);
        Assert.NotNull(summary.Error);
        Assert.Contains(cause, summary.Error);
        Assert.Contains(cause, run.AssertOneErrorLine());
    }
}
