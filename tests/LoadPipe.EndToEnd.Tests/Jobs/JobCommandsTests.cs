using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>`lp jobs` and `lp worker` on the default SQLite manifest: a job runs through the engine, a cancel stops a
/// running job, and bad input is one line with exit code 2.</summary>
public sealed class JobCommandsTests
{
    [Fact]
    public async Task JobsAdd_ThenWorker_CopiesTheFileAndShowListsTheAttempt()
    {
        using var sandbox = new Sandbox();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 3 << 20, seed: 1500);

        var added = (await sandbox.LpAsync("jobs", "add", "in/a.bin", "out/", "--chunk-size", "1M", "--json")).AssertExitCode(0);
        var again = (await sandbox.LpAsync("jobs", "add", "in/a.bin", "out/", "--chunk-size", "1M")).AssertExitCode(0);
        var id = Assert.Single(added.JsonLines).GetProperty("id").GetInt64();
        (await sandbox.LpAsync("worker", "--exit-when-idle")).AssertExitCode(0);
        var shown = Assert.Single((await sandbox.LpAsync("jobs", "show", id.ToString(), "--json")).AssertExitCode(0).JsonLines);
        var listed = (await sandbox.LpAsync("jobs", "list", "--state", "completed", "--json")).AssertExitCode(0);

        Assert.Equal(id.ToString(), again.Stdout.Trim());
        Assert.Contains($"already queued as job {id}", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(sandbox.PathOf("out/a.bin")));
        Assert.Equal("completed", shown.GetProperty("state").GetString());
        Assert.Equal(sandbox.PathOf("in/a.bin"), shown.GetProperty("source").GetString());
        Assert.Equal(3L << 20, shown.GetProperty("progress").GetProperty("bytes_done").GetInt64());
        var attempt = Assert.Single(shown.GetProperty("attempts").EnumerateArray());
        Assert.Equal((3L << 20, 0L, JsonValueKind.Null), (attempt.GetProperty("bytes_sent").GetInt64(), attempt.GetProperty("bytes_resumed").GetInt64(), attempt.GetProperty("error").ValueKind));
        Assert.Equal(id, Assert.Single(listed.JsonLines).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task JobsCancel_DuringARun_StopsTheJobOnTheWorker_AndRetryOfARunningJobIsRefused()
    {
        using var sandbox = new Sandbox();
        Digest.WriteRandomFile(sandbox.PathOf("in/big.bin"), 24 << 20, seed: 1501);
        var id = (await sandbox.LpAsync("jobs", "add", "in/big.bin", "out/", "--chunk-size", "1M", "--bwlimit", "1M")).AssertExitCode(0).Stdout.Trim();
        await using var worker = sandbox.StartLp("worker", "--poll", "200ms");
        await Eventually.ValueAsync(() => ShowAsync(sandbox, id), j => j.GetProperty("progress").GetProperty("bytes_done").GetInt64() > 0,
            TimeSpan.FromMinutes(1), j => $"job not moving: {j}", () => worker.HasExited);

        var retry = await sandbox.LpAsync("jobs", "retry", id);
        var cancel = await sandbox.LpAsync("jobs", "cancel", id);
        var waited = await sandbox.LpAsync("jobs", "wait", id, "--json");
        var workerRanOn = !worker.HasExited;
        await worker.TerminateAsync();
        var stopped = await worker.WaitAsync();
        var cancelledAgain = await sandbox.LpAsync("jobs", "cancel", id);

        retry.AssertExitCode(2);
        Assert.Equal($"error: job {id} is running: only a failed or cancelled job can be retried (cancel it first)", retry.AssertOneErrorLine());
        cancel.AssertExitCode(0);
        waited.AssertExitCode(1);
        var job = Assert.Single(waited.JsonLines);
        Assert.Equal("cancelled", job.GetProperty("state").GetString());
        Assert.Equal("cancelled", Assert.Single(job.GetProperty("attempts").EnumerateArray()).GetProperty("error").GetString());
        Assert.True(job.GetProperty("progress").GetProperty("bytes_done").GetInt64() < 24 << 20, $"the whole file was sent before the cancel: {job}");
        Assert.False(File.Exists(sandbox.PathOf("out/big.bin")));
        Assert.True(workerRanOn, "the worker stopped with the job instead of going on");
        stopped.AssertExitCode(0);
        cancelledAgain.AssertExitCode(2);
        Assert.Equal($"error: job {id} is cancelled: only a pending or running job can be cancelled", cancelledAgain.AssertOneErrorLine());
    }

    [Fact]
    public async Task Worker_Sigterm_HandsTheRunningJobBackAfterTheGrace_AndTheNextWorkerResumesIt()
    {
        using var sandbox = new Sandbox();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/big.bin"), 8 << 20, seed: 1503);
        var id = (await sandbox.LpAsync("jobs", "add", "in/big.bin", "out/", "--chunk-size", "1M", "--bwlimit", "1M")).AssertExitCode(0).Stdout.Trim();
        LpResult drained;
        await using (var worker = sandbox.StartLp("worker", "--grace", "1s"))
        {
            await Eventually.ValueAsync(() => ShowAsync(sandbox, id), j => j.GetProperty("progress").GetProperty("bytes_done").GetInt64() >= 2 << 20,
                TimeSpan.FromMinutes(1), j => $"job not moving: {j}", () => worker.HasExited);
            await worker.TerminateAsync();
            drained = await worker.WaitAsync();
        }
        var handedBack = await ShowAsync(sandbox, id);

        (await sandbox.LpAsync("worker", "--exit-when-idle")).AssertExitCode(0);
        var done = await ShowAsync(sandbox, id);

        drained.AssertExitCode(0);
        Assert.Equal(("pending", 0), (handedBack.GetProperty("state").GetString(), handedBack.GetProperty("attempt").GetInt32()));
        Assert.Equal("handed back: the worker stopped", Assert.Single(handedBack.GetProperty("attempts").EnumerateArray()).GetProperty("error").GetString());
        Assert.Equal(("completed", 1), (done.GetProperty("state").GetString(), done.GetProperty("attempt").GetInt32()));
        var resumed = done.GetProperty("attempts")[1];
        Assert.True(resumed.GetProperty("bytes_resumed").GetInt64() >= 1 << 20, $"the second run did not resume: {resumed}");
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(sandbox.PathOf("out/big.bin")));
    }

    [Fact]
    public async Task JobsRetry_OfAFailedJob_RunsItAgain()
    {
        using var sandbox = new Sandbox();
        var id = (await sandbox.LpAsync("jobs", "add", "in/late.bin", "out/", "--max-retries", "0")).AssertExitCode(0).Stdout.Trim();
        (await sandbox.LpAsync("worker", "--exit-when-idle")).AssertExitCode(0);
        var failed = await ShowAsync(sandbox, id);
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/late.bin"), 100_000, seed: 1502);

        (await sandbox.LpAsync("jobs", "retry", id)).AssertExitCode(0);
        (await sandbox.LpAsync("worker", "--exit-when-idle")).AssertExitCode(0);
        var done = await ShowAsync(sandbox, id);

        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Contains("late.bin", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("completed", done.GetProperty("state").GetString());
        Assert.Equal(2, done.GetProperty("attempts").GetArrayLength());
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(sandbox.PathOf("out/late.bin")));
    }

    [Theory]
    [InlineData("jobs add nowhere:x out/", "error: unknown remote 'nowhere' in 'nowhere:x': define it under 'remotes:' in the config file (for a local file with a colon in its name write ./nowhere:x)")]
    [InlineData("jobs add in/ out/ --process exec:cat", "error: stage exec is not allowed here: this front never runs a command it is sent")]
    [InlineData("jobs add in/ out/ --after yesterday", "error: --after 'yesterday': expected an ISO 8601 time (2026-12-08T02:00:00Z) or a delay (90s, 10m, 2h)")]
    [InlineData("jobs cancel 404", "error: job 404 does not exist (see lp jobs list)")]
    [InlineData("jobs list --state done", "error: --state 'done': expected pending, running, completed, failed or cancelled")]
    [InlineData("schedules add nightly in/ out/ --cron 61_*_*_*_*", "error: bad cron expression '61 * * * *': Minutes: Value must be a number between 0 and 59 (all inclusive). (five fields: minute hour day month weekday, e.g. '0 2 * * *')")]
    [InlineData("schedules add nightly in/ out/ --cron 0_2_*_*_* --tz Mars/Olympus", "error: unknown time zone 'Mars/Olympus' (an IANA id such as Europe/Paris, or UTC)")]
    [InlineData("schedules run nothing --now", "error: no schedule named 'nothing' (see lp schedules list)")]
    public async Task BadInput_OneLineAndExitTwo(string commandLine, string expected)
    {
        using var sandbox = new Sandbox();
        Directory.CreateDirectory(sandbox.PathOf("in"));

        var run = await sandbox.LpAsync([.. commandLine.Split(' ').Select(a => a.Replace('_', ' '))]);

        run.AssertExitCode(2);
        Assert.Equal(expected, run.AssertOneErrorLine());
    }

    private static async Task<JsonElement> ShowAsync(Sandbox sandbox, string id) =>
        Assert.Single((await sandbox.LpAsync("jobs", "show", id, "--json")).AssertExitCode(0).JsonLines);
}
