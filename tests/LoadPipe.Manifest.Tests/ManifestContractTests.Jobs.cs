using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Manifest;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Manifest.Tests;

/// <summary>The <see cref="IJobQueue"/> part of the contract: claims, leases and epochs, and each named transition.</summary>
public abstract partial class ManifestContractTests
{
    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _queueClock = new(DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private async Task<IJobQueue> OpenQueueAsync()
    {
        var manifest = await OpenAsync(_queueClock);
        _opened.Add(manifest);
        return Assert.IsAssignableFrom<IJobQueue>(manifest);
    }

    private static NewJob Job(string name, int priority = 0) => new($"/src/{name}", $"/dst/{name}", "{}") { Priority = priority };

    [Fact]
    public async Task Claim_PendingJob_TakesLeaseIncrementsEpochAndStartsAnAttempt()
    {
        var queue = await OpenQueueAsync();
        var (queued, created) = await queue.EnqueueAsync(Job("a") with { User = "ann", MaxAttempts = 5 });

        var claimed = Assert.Single(await queue.ClaimAsync("w1", 4, LeaseTime));
        var again = await queue.ClaimAsync("w2", 4, LeaseTime);
        var attempts = await queue.ListAttemptsAsync(queued.Id);

        Assert.True(created);
        Assert.Equal(JobState.Pending, queued.State);
        Assert.Equal(queued.Id, claimed.Id);
        Assert.Equal((JobState.Running, "w1", 1, 1, 5), (claimed.State, claimed.Holder, claimed.Attempt, claimed.Runs, claimed.MaxAttempts));
        Assert.Equal(queued.Epoch + 1, claimed.Epoch);
        Assert.Equal(_queueClock.GetUtcNow() + LeaseTime, claimed.LeaseExpires);
        Assert.Equal("ann", claimed.User);
        Assert.Empty(again);
        var attempt = Assert.Single(attempts);
        Assert.Equal(("w1", 1, (DateTimeOffset?)null), (attempt.Worker, attempt.Run, attempt.EndedAt));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Claim_ManyReady_HighestPriorityFirstThenOldest_AndNotBeforeRunAfter()
    {
        var queue = await OpenQueueAsync();
        var low = (await queue.EnqueueAsync(Job("low"))).Job;
        var later = (await queue.EnqueueAsync(Job("later", 9) with { RunAfter = _queueClock.GetUtcNow().AddMinutes(5) })).Job;
        var high = (await queue.EnqueueAsync(Job("high", 5))).Job;
        var low2 = (await queue.EnqueueAsync(Job("low2"))).Job;

        var first = await queue.ClaimAsync("w", 2, LeaseTime);
        var second = await queue.ClaimAsync("w", 5, LeaseTime);
        _queueClock.Advance(TimeSpan.FromMinutes(5));
        var third = await queue.ClaimAsync("w", 5, LeaseTime);

        Assert.Equal([high.Id, low.Id], first.Select(j => j.Id));
        Assert.Equal([low2.Id], second.Select(j => j.Id));
        Assert.Equal([later.Id], third.Select(j => j.Id));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Claim_FromManyInstancesAtOnce_EveryJobClaimedExactlyOnce()
    {
        var setup = await OpenQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 60; i++) ids.Add((await setup.EnqueueAsync(Job($"f{i}"))).Job.Id);
        var workers = new List<IJobQueue>();
        for (var i = 0; i < 3; i++) workers.Add(await OpenQueueAsync());

        var claims = await Task.WhenAll(workers.Select(async (queue, n) =>
        {
            var mine = new List<long>();
            while (await queue.ClaimAsync($"w{n}", 2, LeaseTime) is { Count: > 0 } got) mine.AddRange(got.Select(j => j.Id));
            return mine;
        }));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(ids.Order(), all.Order());
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Enqueue_UniqueKeyOfAnActiveJob_ReturnsThatJob_AndAFinishedOneFreesTheKey()
    {
        var queue = await OpenQueueAsync();
        var first = await queue.EnqueueAsync(Job("a") with { UniqueKey = "k" });
        var duplicate = await queue.EnqueueAsync(Job("other") with { UniqueKey = "k" });
        var claimed = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime));
        var whileRunning = await queue.EnqueueAsync(Job("a") with { UniqueKey = "k" });
        await queue.CompleteAsync(claimed.Lease, new JobProgress("done", 10, 10, 10, 0), "1 file");
        var afterDone = await queue.EnqueueAsync(Job("a") with { UniqueKey = "k" });

        Assert.True(first.Created);
        Assert.Equal((first.Job.Id, false), (duplicate.Job.Id, duplicate.Created));
        Assert.Equal((first.Job.Id, false), (whileRunning.Job.Id, whileRunning.Created));
        Assert.True(afterDone.Created);
        Assert.NotEqual(first.Job.Id, afterDone.Job.Id);
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Progress_ThenComplete_PersistsBytesOnTheJobAndItsAttempt()
    {
        var queue = await OpenQueueAsync();
        var id = (await queue.EnqueueAsync(Job("a"))).Job.Id;
        var lease = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime)).Lease;

        var signal = await queue.ReportProgressAsync(lease, new JobProgress("copying", 40, 100, 30, 10, "a.bin", 7));
        var during = await queue.GetJobAsync(id);
        await queue.CompleteAsync(lease, new JobProgress("done", 100, 100, 90, 10, null, 7), "1 file, 100 B");
        var after = await queue.GetJobAsync(id);
        var attempt = Assert.Single(await queue.ListAttemptsAsync(id));

        Assert.False(signal.CancelRequested);
        Assert.Equal(("copying", 40L, 100L, "a.bin", (long?)7), (during!.Phase, during.BytesDone, during.BytesTotal, during.Message, during.SessionId));
        Assert.Equal((JobState.Completed, (string?)null, 100L, "1 file, 100 B", (long?)7), (after!.State, after.Holder, after.BytesDone, after.Message, after.SessionId));
        Assert.NotNull(after.FinishedAt);
        Assert.Equal((90L, 10L, (long?)7, (string?)null), (attempt.BytesSent, attempt.BytesResumed, attempt.SessionId, attempt.Error));
        Assert.NotNull(attempt.EndedAt);
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Fail_WithAttemptsLeft_PendingAtItsBackoff_ThenFailedWhenNoneIsLeft()
    {
        var queue = await OpenQueueAsync();
        var id = (await queue.EnqueueAsync(Job("a") with { MaxAttempts = 2 })).Job.Id;
        var retryAt = _queueClock.GetUtcNow().AddSeconds(20);

        var first = await queue.FailAsync(Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime)).Lease, "boom 1", retryAt);
        var tooEarly = await queue.ClaimAsync("w", 1, LeaseTime);
        _queueClock.Advance(TimeSpan.FromSeconds(20));
        var second = await queue.FailAsync(Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime)).Lease, "boom 2", _queueClock.GetUtcNow());
        var attempts = await queue.ListAttemptsAsync(id);

        Assert.Equal((JobState.Pending, retryAt, "boom 1", 1), (first.State, first.RunAfter, first.Error, first.Attempt));
        Assert.Empty(tooEarly);
        Assert.Equal((JobState.Failed, "boom 2", 2), (second.State, second.Error, second.Attempt));
        Assert.NotNull(second.FinishedAt);
        Assert.Equal(["boom 1", "boom 2"], attempts.Select(a => a.Error));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task LeaseExpired_RescueHandsTheJobToAnotherWorker_AndTheOldHolderIsFenced()
    {
        var queue = await OpenQueueAsync();
        var id = (await queue.EnqueueAsync(Job("a"))).Job.Id;
        var old = Assert.Single(await queue.ClaimAsync("w1", 1, LeaseTime)).Lease;
        await queue.HeartbeatAsync(old, LeaseTime);

        _queueClock.Advance(LeaseTime - TimeSpan.FromSeconds(1));
        var beforeExpiry = await queue.RescueExpiredAsync();
        _queueClock.Advance(TimeSpan.FromSeconds(2));
        var rescued = await queue.RescueExpiredAsync();
        var taken = Assert.Single(await queue.ClaimAsync("w2", 1, LeaseTime));

        Assert.Equal((0, 1), (beforeExpiry, rescued));
        Assert.Equal((id, "w2", 2), (taken.Id, taken.Holder, taken.Attempt));
        await Assert.ThrowsAsync<JobFencedException>(() => queue.HeartbeatAsync(old, LeaseTime));
        await Assert.ThrowsAsync<JobFencedException>(() => queue.ReportProgressAsync(old, new JobProgress("copying", 1, 1, 1, 0)));
        await Assert.ThrowsAsync<JobFencedException>(() => queue.CompleteAsync(old, new JobProgress("done", 1, 1, 1, 0), null));
        await Assert.ThrowsAsync<JobFencedException>(() => queue.FailAsync(old, "late", _queueClock.GetUtcNow()));
        Assert.Equal((JobState.Running, "w2"), ((await queue.GetJobAsync(id))!.State, (await queue.GetJobAsync(id))!.Holder));
        var attempts = await queue.ListAttemptsAsync(id);
        Assert.Equal(["lease expired", null], attempts.Select(a => a.Error));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Cancel_PendingAtOnce_RunningMarkedForItsHolder_FinishedRefused()
    {
        var queue = await OpenQueueAsync();
        var pending = (await queue.EnqueueAsync(Job("p"))).Job.Id;
        var running = (await queue.EnqueueAsync(Job("r", 1))).Job.Id;
        var lease = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime)).Lease;

        var cancelledPending = await queue.CancelAsync(pending);
        var marked = await queue.CancelAsync(running);
        var held = Assert.Single(await queue.HeldJobsAsync("w"));
        var heartbeat = await queue.HeartbeatAsync(lease, LeaseTime);
        await queue.CancelledAsync(lease);
        var done = await queue.GetJobAsync(running);
        var refused = await Assert.ThrowsAsync<LoadPipeException>(() => queue.CancelAsync(running));
        var unknown = await Assert.ThrowsAsync<LoadPipeException>(() => queue.CancelAsync(999_999));

        Assert.Equal(JobState.Cancelled, cancelledPending.State);
        Assert.Equal((JobState.Running, true), (marked.State, marked.CancelRequested));
        Assert.Equal((running, lease.Epoch, true), held);
        Assert.True(heartbeat.CancelRequested);
        Assert.Equal(JobState.Cancelled, done!.State);
        Assert.Equal(ErrorKind.Usage, refused.Kind);
        Assert.Equal($"job {running} is cancelled: only a pending or running job can be cancelled", refused.Message);
        Assert.Equal(ErrorKind.NotFound, unknown.Kind);
        Assert.Empty(await queue.ClaimAsync("w", 5, LeaseTime));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Retry_FailedOrCancelled_PendingWithAttemptsReset_RunningRefused()
    {
        var queue = await OpenQueueAsync();
        var id = (await queue.EnqueueAsync(Job("a") with { MaxAttempts = 1 })).Job.Id;
        var lease = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime)).Lease;

        var whileRunning = await Assert.ThrowsAsync<LoadPipeException>(() => queue.RetryAsync(id));
        var failed = await queue.FailAsync(lease, "boom", _queueClock.GetUtcNow());
        var retried = await queue.RetryAsync(id);
        var again = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime));

        Assert.Equal(ErrorKind.Usage, whileRunning.Kind);
        Assert.Equal($"job {id} is running: only a failed or cancelled job can be retried (cancel it first)", whileRunning.Message);
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Equal((JobState.Pending, 0, (string?)null), (retried.State, retried.Attempt, retried.Error));
        Assert.Equal((id, 1, 2), (again.Id, again.Attempt, again.Runs));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task QuotaWait_JobAndItsScopeWaitUntilTheReset_WithoutCountingAnAttempt_OthersGoOn()
    {
        var queue = await OpenQueueAsync();
        var first = (await queue.EnqueueAsync(Job("v1", 1) with { QuotaScope = "yt:chan", MaxAttempts = 1 })).Job.Id;
        var sameScope = (await queue.EnqueueAsync(Job("v2") with { QuotaScope = "yt:chan" })).Job.Id;
        var otherScope = (await queue.EnqueueAsync(Job("s3") with { QuotaScope = "s3:bucket" })).Job.Id;
        var lease = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime)).Lease;
        var reset = _queueClock.GetUtcNow().AddHours(3);

        await queue.WaitForQuotaAsync(lease, reset, "daily YouTube quota reached");
        var meanwhile = await queue.ClaimAsync("w", 5, LeaseTime);
        _queueClock.Advance(TimeSpan.FromHours(3));
        var afterReset = await queue.ClaimAsync("w", 5, LeaseTime);

        Assert.Equal([otherScope], meanwhile.Select(j => j.Id));
        Assert.Equal([first, sameScope], afterReset.Select(j => j.Id));
        Assert.Equal(1, afterReset[0].Attempt); // the quota wait did not use up its only attempt
        Assert.Equal("daily YouTube quota reached", Assert.Single(await queue.ListAttemptsAsync(first), a => a.Run == 1).Error);
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Release_HandsTheJobBackAtOnce_WithoutCountingTheAttempt()
    {
        var queue = await OpenQueueAsync();
        var id = (await queue.EnqueueAsync(Job("a"))).Job.Id;
        var lease = Assert.Single(await queue.ClaimAsync("w1", 1, LeaseTime)).Lease;

        await queue.ReleaseAsync(lease, "worker stopping", new JobProgress("copying", 50, 100, 50, 0));
        var taken = Assert.Single(await queue.ClaimAsync("w2", 1, LeaseTime));

        Assert.Equal((id, 1, 2, 50L), (taken.Id, taken.Attempt, taken.Runs, taken.BytesDone));
        await Assert.ThrowsAsync<JobFencedException>(() => queue.ReleaseAsync(lease, "again"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ScheduleTick_ClaimedByTwoInstances_QueuesOneJob()
    {
        var queue = await OpenQueueAsync();
        var other = await OpenQueueAsync();
        var tick = _queueClock.GetUtcNow();
        await queue.AddScheduleAsync(new ScheduleRecord
        {
            Name = "nightly", Cron = "0 2 * * *", TimeZone = "UTC", Source = "/src", Destination = "/dst/", Options = "{}", NextTick = tick,
        });
        var duplicate = await Assert.ThrowsAsync<LoadPipeException>(() => other.AddScheduleAsync(new ScheduleRecord
        {
            Name = "nightly", Cron = "* * * * *", TimeZone = "UTC", Source = "/x", Destination = "/y", Options = "{}", NextTick = tick,
        }));
        var job = new NewJob("/src", "/dst/", "{}") { Schedule = "nightly", UniqueKey = "schedule:nightly:1" };

        var claims = await Task.WhenAll(
            queue.ClaimScheduleTickAsync("nightly", tick, tick.AddDays(1), job),
            other.ClaimScheduleTickAsync("nightly", tick, tick.AddDays(1), job));
        var schedule = Assert.Single(await queue.ListSchedulesAsync());

        Assert.Equal(ErrorKind.Usage, duplicate.Kind);
        var queued = Assert.Single(claims, c => c is not null)!;
        Assert.Equal("nightly", queued.Schedule);
        Assert.Equal((tick.AddDays(1), (DateTimeOffset?)tick, (long?)queued.Id), (schedule.NextTick, schedule.LastTick, schedule.LastJobId));
        Assert.Single(await queue.ListJobsAsync(new JobQuery()).ToListAsync());
        Assert.True(await queue.RemoveScheduleAsync("nightly"));
        Assert.False(await queue.RemoveScheduleAsync("nightly"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ListJobs_FiltersByStateAndUser_NewestFirst_InPages()
    {
        var queue = await OpenQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++) ids.Add((await queue.EnqueueAsync(Job($"f{i}") with { User = i % 2 == 0 ? "ann" : "bob" })).Job.Id);
        await queue.CancelAsync(ids[4]);

        var pending = await queue.ListJobsAsync(new JobQuery { State = JobState.Pending }).ToListAsync();
        var ann = await queue.ListJobsAsync(new JobQuery { User = "ann", Limit = 2 }).ToListAsync();
        var annPage2 = await queue.ListJobsAsync(new JobQuery { User = "ann", Limit = 2, BeforeId = ann[^1].Id }).ToListAsync();

        Assert.Equal([ids[3], ids[2], ids[1], ids[0]], pending.Select(j => j.Id));
        Assert.Equal([ids[4], ids[2]], ann.Select(j => j.Id));
        Assert.Equal([ids[0]], annPage2.Select(j => j.Id));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task RecordWorker_ListedWithItsHeartbeat_StoppedRemovesIt()
    {
        var queue = await OpenQueueAsync();
        var started = _queueClock.GetUtcNow();
        await queue.RecordWorkerAsync(new WorkerRecord("host-1:42", "host-1", 42, 4, 0, "idle", started, started));
        _queueClock.Advance(TimeSpan.FromSeconds(5));
        await queue.RecordWorkerAsync(new WorkerRecord("host-1:42", "host-1", 42, 4, 2, "running", started, started));

        var listed = Assert.Single(await queue.ListWorkersAsync().ToListAsync());
        await queue.RecordWorkerAsync(listed with { State = "stopped" });

        Assert.Equal(("running", 2, started, _queueClock.GetUtcNow()), (listed.State, listed.Running, listed.StartedAt, listed.HeartbeatAt));
        Assert.Empty(await queue.ListWorkersAsync().ToListAsync());
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ClaimContent_HeldByARunningJob_SecondWaitsUnclaimedUntilTheFirstEnds_ThenSeesItsDelivery()
    {
        var queue = await OpenQueueAsync();
        var other = await OpenQueueAsync();
        var a = (await queue.EnqueueAsync(Job("a"))).Job;
        var b = (await queue.EnqueueAsync(Job("b"))).Job;
        var claimed = (await queue.ClaimAsync("w1", 2, LeaseTime)).ToDictionary(j => j.Id);
        const string key = "sha256:00ff\n/dst/\n";

        var claims = await Task.WhenAll(queue.ClaimContentAsync(claimed[a.Id].Lease, key), other.ClaimContentAsync(claimed[b.Id].Lease, key));
        var holder = claims[0].WaitingFor is null ? a : b;
        var waiter = holder == a ? b : a;
        var waiting = await queue.GetJobAsync(waiter.Id);
        var whileHeld = await queue.ClaimAsync("w2", 5, LeaseTime);
        await queue.CompleteAsync(claimed[holder.Id].Lease, new JobProgress("done", 10, 10, 10, 0), "1 file", new JobDelivery("/dst/a"));
        var again = Assert.Single(await queue.ClaimAsync("w2", 5, LeaseTime));
        var seen = await queue.ClaimContentAsync(again.Lease, key);
        await queue.CompleteAsync(again.Lease, new JobProgress("done", 0, 0, 0, 0), "duplicate", new JobDelivery("/dst/a", holder.Id));
        var done = await queue.GetJobAsync(waiter.Id);
        var attempts = await queue.ListAttemptsAsync(waiter.Id);

        Assert.Single(claims, c => c.WaitingFor is null);
        Assert.Equal(holder.Id, Assert.Single(claims, c => c.WaitingFor is not null).WaitingFor);
        Assert.All(claims, c => Assert.Null(c.DeliveredBy));
        Assert.Equal((JobState.Pending, JobRows.WaitingPhase(holder.Id), 0), (waiting!.State, waiting.Phase, waiting.Attempt));
        Assert.Empty(whileHeld);
        Assert.Equal(waiter.Id, again.Id);
        Assert.Equal(new ContentClaim(null, holder.Id, "/dst/a"), seen);
        Assert.Equal((JobState.Completed, (long?)holder.Id, "/dst/a", 1), (done!.State, done.DuplicateOf, done.Delivered, done.Attempt));
        Assert.Equal([JobRows.WaitingPhase(holder.Id), null], attempts.Select(t => t.Error));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ClaimContent_ByAFencedHolder_Throws()
    {
        var queue = await OpenQueueAsync();
        await queue.EnqueueAsync(Job("a"));
        var claimed = Assert.Single(await queue.ClaimAsync("w1", 1, LeaseTime));

        await Assert.ThrowsAsync<JobFencedException>(() => queue.ClaimContentAsync(claimed.Lease with { Epoch = claimed.Epoch + 1 }, "k"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ScheduledFiles_TheSameFileTwiceByTwoInstances_QueuedOnce_AndATickClaimedOnce()
    {
        var queue = await OpenQueueAsync();
        var other = await OpenQueueAsync();
        var tick = _queueClock.GetUtcNow();
        await queue.AddScheduleAsync(new ScheduleRecord
        {
            Name = "scan", Cron = "* * * * *", TimeZone = "UTC", Source = "/src/", Destination = "/dst/", Options = "{}", NextTick = tick,
        });
        NewJob FileJob(string name) => new($"/src/{name}", "/dst/", "{}") { Schedule = "scan", UniqueKey = $"schedule:scan\n{name}" };

        var ticks = await Task.WhenAll(queue.ClaimTickAsync("scan", tick, tick.AddMinutes(1)), other.ClaimTickAsync("scan", tick, tick.AddMinutes(1)));
        var first = await Task.WhenAll(queue.EnqueueScheduledFileAsync("scan", "f1", FileJob("f1")), other.EnqueueScheduledFileAsync("scan", "f1", FileJob("f1")));
        var second = await queue.EnqueueScheduledFileAsync("scan", "f2", FileJob("f2"));
        var again = await other.EnqueueScheduledFileAsync("scan", "f2", FileJob("f2"));

        Assert.Single(ticks, t => t);
        Assert.Single(first, j => j is not null);
        Assert.NotNull(second);
        Assert.Null(again);
        Assert.Equal(2, (await queue.ListJobsAsync(new JobQuery()).ToListAsync()).Count);
        Assert.Equal(tick.AddMinutes(1), Assert.Single(await queue.ListSchedulesAsync()).NextTick);
        await CloseStatesAsync();
    }

    [Fact]
    public async Task CompleteAndClaim_EndsTheRunAndTakesTheNext_AndAStaleHolderNeitherEndsNorTakes()
    {
        var queue = await OpenQueueAsync();
        var first = (await queue.EnqueueAsync(Job("one"))).Job;
        var second = (await queue.EnqueueAsync(Job("two"))).Job;
        var third = (await queue.EnqueueAsync(Job("three"))).Job;
        var running = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime));
        var end = new JobProgress("done", 0, 0, 0, 0);

        await Assert.ThrowsAsync<JobFencedException>(() => queue.CompleteAndClaimAsync(running.Lease with { Epoch = running.Epoch + 1 }, end, "stale", null, "w", 1, LeaseTime));
        var afterStale = (await queue.GetJobAsync(first.Id), await queue.GetJobAsync(second.Id));
        var next = await queue.CompleteAndClaimAsync(running.Lease, end, "1 file(s)", null, "w", 1, LeaseTime);
        var done = await queue.GetJobAsync(first.Id);
        var firstAttempts = await queue.ListAttemptsAsync(first.Id);
        var secondAttempts = await queue.ListAttemptsAsync(second.Id);
        var claimed = Assert.Single(next);
        var last = await queue.CompleteAndClaimAsync(claimed.Lease, end, null, null, "w", 0, LeaseTime);

        Assert.Equal(first.Id, running.Id);
        Assert.Equal((JobState.Running, JobState.Pending), (afterStale.Item1!.State, afterStale.Item2!.State));
        Assert.Equal((JobState.Completed, "1 file(s)"), (done!.State, done.Message));
        Assert.NotNull(Assert.Single(firstAttempts).EndedAt);
        Assert.Equal((second.Id, JobState.Running, "w", second.Epoch + 1), (claimed.Id, claimed.State, claimed.Holder, claimed.Epoch));
        Assert.Equal(("w", (DateTimeOffset?)null), (Assert.Single(secondAttempts).Worker, secondAttempts[0].EndedAt));
        Assert.Empty(last);
        Assert.Equal(JobState.Completed, (await queue.GetJobAsync(second.Id))!.State);
        Assert.Equal(JobState.Pending, (await queue.GetJobAsync(third.Id))!.State);
        await CloseStatesAsync();
    }

    [Fact]
    public async Task CompleteAndClaim_WithTheTransfersEnd_RecordsBoth_AStaleTransferLeaseIsLeftAlone_ElseRefused()
    {
        var queue = await OpenQueueAsync();
        var manifest = (IManifest)queue;
        var session = await manifest.BeginSessionAsync(new SessionStart("worker", "", ""));
        var transfer = await manifest.StartTransferAsync(Key, session, Identity);
        var other = await manifest.StartTransferAsync(Key with { Source = "/src/b" }, session, Identity);
        var stale = other.Lease with { Epoch = other.Epoch - 1 };
        await queue.EnqueueAsync(Job("one"));
        await queue.EnqueueAsync(Job("two"));
        var first = Assert.Single(await queue.ClaimAsync("w", 1, LeaseTime));
        var end = new JobProgress("done", 40, 40, 40, 0);
        var completion = new TransferCompletion(40, "md5", null);

        if (!queue.RecordsTransferEnds)
        {
            await Assert.ThrowsAsync<NotSupportedException>(() => queue.CompleteAndClaimAsync(first.Lease, end, null, null, "w", 1, LeaseTime, default, (transfer.Lease, completion)));
            Assert.Equal(JobState.Running, (await queue.GetJobAsync(first.Id))!.State);
            await CloseStatesAsync();
            return;
        }
        var second = Assert.Single(await queue.CompleteAndClaimAsync(first.Lease, end, "1 file(s)", null, "w", 1, LeaseTime, default, (transfer.Lease, completion)));
        await queue.CompleteAndClaimAsync(second.Lease, end, "1 file(s)", null, "w", 0, LeaseTime, default, (stale, completion));

        var recorded = await manifest.FindTransferAsync(Key);
        var untouched = await manifest.FindTransferAsync(Key with { Source = "/src/b" });
        Assert.Equal((JobState.Completed, JobState.Completed), ((await queue.GetJobAsync(first.Id))!.State, (await queue.GetJobAsync(second.Id))!.State));
        Assert.Equal((TransferStatus.Completed, 40L, "md5"), (recorded!.Status, recorded.OutputSize, recorded.Md5));
        Assert.Contains(await manifest.ListTransfersAsync(session).ToListAsync(), t => t.Id == transfer.Id && t.Status == TransferStatus.Completed);
        Assert.Equal(TransferStatus.InProgress, untouched!.Status);
        await CloseStatesAsync();
    }
}
