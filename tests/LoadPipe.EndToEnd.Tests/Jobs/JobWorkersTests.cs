using System.Globalization;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Manifest;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Postgres;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Manifest.Postgres;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>
/// `lp worker` processes sharing one PostgreSQL manifest (a database of the test's own on LP_TEST_POSTGRES): jobs run
/// once each; a worker killed with -9 loses its lease and its job is taken over and resumed from the last confirmed
/// chunk; a schedule's tick is queued once however many workers see it.
/// </summary>
public sealed class JobWorkersTests
{
    /// <summary>Many short jobs keep the workers claiming while their watch reads the jobs they hold: a job claimed
    /// during that read was once taken for lost and left running, unrecorded, after its worker exited (bench/queue.sh:
    /// 1 of 2,000 with 4 workers, in 2 of 3 runs; this test, with 4 jobs in hand per worker: 2-4 jobs left running in
    /// each of 3 runs before the fix, none in 3 after).</summary>
    [Fact]
    public async Task Workers_FourExitingWhenIdle_TwoThousandShortJobs_EachCompletedOnceNoneLeftRunning()
    {
        using var sandbox = new Sandbox();
        await using var database = await PostgresDatabase.CreateAsync();
        const int count = 2000;
        // Empty files, as bench/queue.sh queues: the shortest jobs, so the most claims per second.
        Directory.CreateDirectory(sandbox.PathOf("in"));
        File.WriteAllBytes(sandbox.PathOf("in/one.bin"), []);
        await using (var queue = await PostgresManifest.OpenAsync(database.ConnectionString))
        {
            for (var i = 0; i < count; i++)
                await queue.EnqueueAsync(new NewJob(sandbox.PathOf("in/one.bin"), sandbox.PathOf($"out/c{i:D4}.bin"), "{}"));
        }
        string[] worker = ["worker", "--exit-when-idle", "--no-schedules", "--concurrency", "4", "--poll", "50ms", "--manifest", database.ConnectionString];
        var workers = Enumerable.Range(0, 4).Select(_ => LpProcess.Start(sandbox, worker)).ToList();
        try
        {
            foreach (var w in workers) (await w.WaitAsync()).AssertExitCode(0);

            await using var probe = await PostgresManifest.OpenAsync(database.ConnectionString);
            var all = await probe.ListJobsAsync(new JobQuery { Limit = count + 1 }).ToListAsync();
            Assert.Equal(count, all.Count);
            Assert.Empty(all.Where(j => j.State != JobState.Completed).Select(j => $"job {j.Id} {j.State} on {j.Holder}"));
            for (var i = 0; i < count; i++) Assert.Equal(0, new FileInfo(sandbox.PathOf($"out/c{i:D4}.bin")).Length);
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
        }
    }

    /// <summary>A job runs in its worker's session, without a session lock of its own: what keeps a worker and an
    /// `lp copy` of the same file from writing it at once is the transfer's lock (taken with the destination's, in one
    /// statement). The job, running while the copy runs (the copy is slowed to ~30 s), waits for it to end and then
    /// finds the file done: it sends nothing, and the file is the copy's, byte for byte.</summary>
    [Fact]
    public async Task Worker_AndACopyOfTheSameFileAtOnce_TheJobWaitsForTheCopyAndSendsNothing()
    {
        using var sandbox = new Sandbox();
        await using var database = await PostgresDatabase.CreateAsync();
        const int size = 16 << 20;
        var data = Digest.WriteRandomFile(sandbox.PathOf("in/big.bin"), size, seed: 1800);
        await using var copy = LpProcess.Start(sandbox, ["copy", "in/big.bin", "out/big.bin", "--chunk-size", "1M", "--bwlimit", "512K", "--manifest", database.ConnectionString]);
        await Eventually.ValueAsync(database.ConfirmedBytesAsync, c => c >= 1 << 20, TimeSpan.FromMinutes(2), c => $"{c} bytes confirmed by the copy", () => copy.HasExited);

        var id = long.Parse((await LpProcess.RunAsync(sandbox, "jobs", "add", "in/big.bin", "out/big.bin", "--chunk-size", "1M",
            "--manifest", database.ConnectionString)).AssertExitCode(0).Stdout.Trim(), CultureInfo.InvariantCulture);
        await using var worker = LpProcess.Start(sandbox, ["worker", "--exit-when-idle", "--no-schedules", "--poll", "100ms", "--manifest", database.ConnectionString]);
        await using var probe = await PostgresManifest.OpenAsync(database.ConnectionString);
        // The job runs while the copy still holds the file.
        await Eventually.ValueAsync(() => probe.GetJobAsync(id), j => j is { State: JobState.Running }, TimeSpan.FromMinutes(2),
            j => $"job {j?.State}", () => copy.HasExited || worker.HasExited);
        (await copy.WaitAsync()).AssertExitCode(0);
        (await worker.WaitAsync()).AssertExitCode(0);

        var job = await probe.GetJobAsync(id);
        var attempt = Assert.Single(await probe.ListAttemptsAsync(id));
        Assert.Equal((JobState.Completed, 0L), (job!.State, attempt.BytesSent));
        Assert.Equal(Digest.Sha256(data), Digest.Sha256OfFile(sandbox.PathOf("out/big.bin")));
        // The job's run is recorded in its worker's session, which ended with the worker.
        var session = await probe.GetSessionAsync(attempt.SessionId!.Value);
        Assert.Equal(("worker", SessionStatus.Completed, 1, 1), (session!.Command, session.Status, session.Files, session.FilesSkipped));
    }

    [Fact]
    public async Task Workers_ThreeOnOnePostgres_TwoHundredJobs_OneKilledMidLargeJob_EachJobOnceAndTheLargeOneResumed()
    {
        using var sandbox = new Sandbox();
        await using var database = await PostgresDatabase.CreateAsync();
        const int size = 40 << 20, chunk = 2 << 20;
        var big = Digest.WriteRandomFile(sandbox.PathOf("in/big.bin"), size, seed: 1600);
        var random = new Random(1601);
        for (var i = 0; i < 199; i++)
            Digest.WriteRandomFile(sandbox.PathOf($"in/small/f{i:D3}.bin"), random.Next(1, 64 << 10), seed: 1700 + i);
        var bigId = long.Parse((await LpProcess.RunAsync(sandbox, "jobs", "add", "in/big.bin", "out/", "--chunk-size", "2M", "--bwlimit", "4M",
            "--priority", "10", "--manifest", database.ConnectionString)).AssertExitCode(0).Stdout.Trim(), CultureInfo.InvariantCulture);
        await using (var queue = await PostgresManifest.OpenAsync(database.ConnectionString))
        {
            for (var i = 0; i < 199; i++)
                await queue.EnqueueAsync(new NewJob(sandbox.PathOf($"in/small/f{i:D3}.bin"), sandbox.PathOf("out/small/"), "{}"));
        }
        string[] Worker(string name) => ["worker", "--name", name, "--concurrency", "2", "--lease", "5s", "--poll", "500ms", "--manifest", database.ConnectionString];
        var workers = new Dictionary<string, LpProcess> { ["w1"] = LpProcess.Start(sandbox, Worker("w1")), ["w2"] = LpProcess.Start(sandbox, Worker("w2")), ["w3"] = LpProcess.Start(sandbox, Worker("w3")) };
        try
        {
            await using var probe = await PostgresManifest.OpenAsync(database.ConnectionString);
            // Mid-way through the large job: some chunks confirmed, most of the file still to go.
            var running = await Eventually.ValueAsync(async () => (Job: await probe.GetJobAsync(bigId), Confirmed: await database.ConfirmedBytesAsync()),
                s => s.Job is { State: JobState.Running, Holder: not null } && s.Confirmed >= 3 * chunk,
                TimeSpan.FromMinutes(3), s => $"large job {s.Job?.State} on {s.Job?.Holder}, {s.Confirmed} bytes confirmed",
                () => workers.Values.Any(w => w.HasExited));
            var victim = running.Job!.Holder!;
            var confirmedBeforeKill = await database.ConfirmedBytesAsync();
            await workers[victim].KillAsync();

            var all = await Eventually.ValueAsync(async () => await probe.ListJobsAsync(new JobQuery { Limit = 1000 }).ToListAsync(),
                jobs => jobs.Count == 200 && jobs.All(j => j.IsFinal),
                TimeSpan.FromMinutes(5), jobs => $"{jobs.Count(j => j.State == JobState.Completed)} of 200 jobs completed",
                () => workers.Where(w => w.Key != victim).Any(w => w.Value.HasExited));

            Assert.All(all, j => Assert.Equal(JobState.Completed, j.State));
            foreach (var job in all)
            {
                var attempts = await probe.ListAttemptsAsync(job.Id);
                Assert.True(attempts.Count(a => a.EndedAt is not null && a.Error is null) == 1, $"job {job.Id} completed {attempts.Count(a => a.Error is null)} times");
            }
            Assert.Equal(Digest.Sha256(big), Digest.Sha256OfFile(sandbox.PathOf("out/big.bin")));
            Assert.Equal(FileTree.Digests(sandbox.PathOf("in/small")), FileTree.Digests(sandbox.PathOf("out/small")));

            var bigAttempts = await probe.ListAttemptsAsync(bigId);
            var killed = bigAttempts[0];
            var resumed = bigAttempts[^1];
            Assert.Equal((victim, "lease expired"), (killed.Worker, killed.Error));
            Assert.NotEqual(victim, resumed.Worker);
            Assert.True(resumed.BytesResumed >= confirmedBeforeKill, $"resumed from {resumed.BytesResumed}, but {confirmedBeforeKill} bytes were confirmed before the kill");
            Assert.Equal(size, resumed.BytesResumed + resumed.BytesSent);
            // What the killed worker had reported sending, and the resumed run did not find confirmed, was sent twice.
            Assert.True(killed.BytesSent - resumed.BytesResumed < 2 * chunk,
                $"the killed run reported {killed.BytesSent} bytes sent, the takeover resumed from {resumed.BytesResumed}: more than 2 chunks sent again");
        }
        finally
        {
            foreach (var (name, worker) in workers)
            {
                if (!worker.HasExited) await worker.TerminateAsync();
                await worker.WaitAsync();
                await worker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Schedule_MissedTicksWhileNoWorkerRan_TwoWorkersQueueItOnce()
    {
        using var sandbox = new Sandbox();
        await using var database = await PostgresDatabase.CreateAsync();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 50_000, seed: 1650);
        (await LpProcess.RunAsync(sandbox, "schedules", "add", "hourly", "in/", "out/", "--cron", "0 * * * *", "--manifest", database.ConnectionString)).AssertExitCode(0);
        await using (var queue = await PostgresManifest.OpenAsync(database.ConnectionString))
        {
            // As if no worker had run for three hours: its tick three hours ago, and the two after it, were missed.
            await using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync();
            await using var rewind = new Npgsql.NpgsqlCommand("UPDATE job_schedules SET next_tick = next_tick - 3 * 3600 * 1000", connection);
            Assert.Equal(1, await rewind.ExecuteNonQueryAsync());
        }
        string[] worker = ["worker", "--exit-when-idle", "--poll", "200ms", "--manifest", database.ConnectionString];

        LpResult a, b;
        await using (var first = LpProcess.Start(sandbox, worker))
        await using (var second = LpProcess.Start(sandbox, worker))
        {
            a = await first.WaitAsync();
            b = await second.WaitAsync();
        }
        var listed = (await LpProcess.RunAsync(sandbox, "jobs", "list", "--json", "--manifest", database.ConnectionString)).AssertExitCode(0);
        var schedule = Assert.Single((await LpProcess.RunAsync(sandbox, "schedules", "list", "--json", "--manifest", database.ConnectionString)).AssertExitCode(0).JsonLines);

        a.AssertExitCode(0);
        b.AssertExitCode(0);
        var job = Assert.Single(listed.JsonLines);
        Assert.Equal(("completed", "hourly"), (job.GetProperty("state").GetString(), job.GetProperty("schedule").GetString()));
        Assert.Equal(job.GetProperty("id").GetInt64(), schedule.GetProperty("last_job").GetInt64());
        Assert.True(DateTimeOffset.Parse(schedule.GetProperty("next_tick").GetString()!, CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(sandbox.PathOf("out/a.bin")));
    }
}
