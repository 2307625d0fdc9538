using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting.Jobs;

/// <summary>What `lp worker` runs with; each property's default is stated on it.</summary>
public sealed record JobWorkerOptions
{
    /// <summary>The worker's name in the queue (holder of its jobs). Default HOST:PID.</summary>
    public string? Name { get; init; }

    /// <summary>Jobs run at once. Default 1.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>How long a claim holds without a heartbeat; the heartbeat renews it every third of it. Default 30 s.</summary>
    public TimeSpan Lease { get; init; } = JobDefaults.Lease;

    /// <summary>The longest an idle worker waits before it looks at the queue again (NOTIFY wakes it sooner on
    /// PostgreSQL). Default 1 s.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a running job's cancel flag is read: a cancel stops it within this. Default 0.5 s.</summary>
    public TimeSpan CancelCheckInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>After a stop (SIGTERM), how long running jobs may go on before they are handed back. Default 30 s.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The wait before a failed job's next attempt. Default <see cref="JobBackoff.Default"/> (10 s doubling, up to 10 min).</summary>
    public JobBackoff Backoff { get; init; } = JobBackoff.Default;

    /// <summary>Stop once no job is ready and none runs (a batch run, seed 003's process_batch). Default false.</summary>
    public bool ExitWhenIdle { get; init; }

    /// <summary>Run the due schedule ticks. Default true.</summary>
    public bool RunSchedules { get; init; } = true;
}

/// <summary>
/// `lp worker`: claims jobs from the manifest's queue and runs each through the engine, as `lp copy` would, so that
/// stages, resume, dedup and hashes hold for jobs. Around the runs, one loop every <see cref="JobWorkerOptions.CancelCheckInterval"/>
/// reads the flags of the jobs it holds (a cancel, or a job another worker took over after this one's lease expired:
/// either stops the run), writes their progress at most once a second, and renews their leases. A job's transfer is
/// fenced twice: by the job's epoch (a holder that lost the job cannot record its end) and by the transfer's own
/// (a holder that lost the transfer cannot confirm a chunk), so a takeover resumes from the last confirmed chunk.
/// </summary>
public sealed partial class JobWorker(LoadPipeHost host, JobWorkerOptions options)
{
    private readonly ILogger _logger = host.Loggers.CreateLogger("LoadPipe.Worker");
    private readonly ConcurrentDictionary<long, RunningJob> _running = new();
    private readonly TimeProvider _time = host.Time;
    private readonly SemaphoreSlim _slotFreed = new(0);
    /// <summary>Running jobs that gave their slot back: their one file is sent and committing (its fsync), and only
    /// the records of their end are left (<see cref="RunningJob.TryGiveSlotBack"/>). At most one per slot.</summary>
    private int _committing;
    private CancellationToken _stop;
    private WorkerSession _session = null!;

    public string Name { get; } = options.Name ?? $"{Core.Locations.Location.ThisHost}:{Environment.ProcessId}";

    /// <summary>Runs until <paramref name="stop"/> (SIGTERM): then claims nothing more, lets running jobs finish for
    /// the grace period, and hands back the rest. <paramref name="kill"/> stops at once, handing everything back.</summary>
    public async Task RunAsync(CancellationToken stop, CancellationToken kill = default)
    {
        var manifest = await host.ManifestAsync(kill).ConfigureAwait(false);
        var queue = await host.JobQueueAsync(kill).ConfigureAwait(false);
        var started = _time.GetUtcNow();
        await using var session = _session = await WorkerSession.BeginAsync(manifest, Name, kill).ConfigureAwait(false);
        using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(kill);
        var watch = WatchAsync(queue, started, watchStop.Token);
        _stop = stop;
        var slotFreed = _slotFreed;
        var lastSchedules = DateTimeOffset.MinValue;
        var lastRescue = DateTimeOffset.MinValue;
        var rescueEvery = TimeSpan.FromSeconds(1);
        try
        {
            while (!stop.IsCancellationRequested && !kill.IsCancellationRequested)
            {
                var claimed = 0;
                try
                {
                    var now = _time.GetUtcNow();
                    if (options.RunSchedules && now - lastSchedules >= TimeSpan.FromSeconds(1))
                    {
                        lastSchedules = now;
                        await JobSchedules.RunDueAsync(queue, host.ResolverFor, _time, _logger, kill).ConfigureAwait(false);
                    }
                    // Expired leases are looked for at most once a second while jobs keep coming (one statement less
                    // per job), and whenever the queue looks empty, before the worker waits or exits.
                    var rescued = false;
                    if (now - lastRescue >= rescueEvery)
                    {
                        lastRescue = now;
                        rescued = true;
                        await queue.RescueExpiredAsync(kill).ConfigureAwait(false);
                    }
                    var free = FreeSlots;
                    if (free > 0)
                    {
                        var jobs = await queue.ClaimAsync(Name, free, options.Lease, kill).ConfigureAwait(false);
                        if (jobs.Count < free && !rescued)
                        {
                            lastRescue = now;
                            if (await queue.RescueExpiredAsync(kill).ConfigureAwait(false) > 0 && jobs.Count == 0)
                                jobs = await queue.ClaimAsync(Name, free, options.Lease, kill).ConfigureAwait(false);
                        }
                        foreach (var job in jobs)
                        {
                            claimed++;
                            Start(manifest, queue, job, kill);
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException && IsQueueFault(e))
                {
                    _logger.QueueUnreachable(e.Message.Split('\n')[0]);
                }
                if (claimed > 0) continue;
                if (options.ExitWhenIdle && _running.IsEmpty) break;
                // Idle or full: wake on a NOTIFY, a finished job, or the poll interval.
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop, kill);
                var waits = new List<Task> { slotFreed.WaitAsync(wake.Token) };
                if (FreeSlots > 0) waits.Add(queue.WaitForJobsAsync(options.PollInterval, wake.Token));
                else waits.Add(Task.Delay(options.PollInterval, _time, wake.Token));
                await Task.WhenAny(waits).ConfigureAwait(false);
                await wake.CancelAsync().ConfigureAwait(false);
                try { await Task.WhenAll(waits).ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
            await DrainAsync(kill).ConfigureAwait(false);
        }
        finally
        {
            await watchStop.CancelAsync().ConfigureAwait(false);
            try { await watch.ConfigureAwait(false); } catch (OperationCanceledException) { }
            try
            {
                await queue.RecordWorkerAsync(new WorkerRecord(Name, Core.Locations.Location.ThisHost, Environment.ProcessId, options.Concurrency, 0, "stopped",
                    started, _time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (IsQueueFault(e))
            {
                _logger.QueueUnreachable(e.Message.Split('\n')[0]);
            }
            try
            {
                await session.EndAsync(kill.IsCancellationRequested, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (IsQueueFault(e))
            {
                _logger.QueueUnreachable(e.Message.Split('\n')[0]);
            }
        }
    }

    /// <summary>Slots not taken: a job committing its one file (<see cref="_committing"/>) no longer takes one, so the
    /// next job's claim and start overlap with that commit's fsync, while its end is still recorded only after it.</summary>
    private int FreeSlots => options.Concurrency - (_running.Count - Volatile.Read(ref _committing));

    /// <summary>Runs a claimed job on its own task, in <see cref="_running"/> until it ends. The task waits until it is
    /// in the table, so that its end always finds itself there to remove.</summary>
    private void Start(IManifest manifest, IJobQueue queue, JobRecord job, CancellationToken kill)
    {
        var run = new RunningJob(job, _session.Id, kill, TakeSlotBack);
        var listed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        run.Task = Task.Run(async () =>
        {
            await listed.Task.ConfigureAwait(false);
            try { await RunJobAsync(manifest, queue, run).ConfigureAwait(false); }
            finally
            {
                // In this order, so that the free slots are never overcounted in between.
                var gaveSlot = run.KeepOrGaveSlot();
                if (gaveSlot) Interlocked.Decrement(ref _committing);
                _running.TryRemove(job.Id, out _);
                // Its place among the committing jobs goes to one that is committing too and kept its slot meanwhile.
                if (gaveSlot)
                    foreach (var other in _running.Values)
                        if (other.TryGiveSlotBack()) break;
                run.Dispose();
                _slotFreed.Release();
            }
        }, CancellationToken.None);
        _running[job.Id] = run;
        listed.SetResult();
    }

    /// <summary>A job's one file is committing: its slot goes to the next job (counted before the wake-up, so the main
    /// loop sees it free), unless as many jobs as there are slots are committing already: then it keeps its slot, so
    /// that jobs that reach their commit faster than the commits end do not pile up. False when it keeps it.</summary>
    private bool TakeSlotBack()
    {
        int committing;
        do
        {
            committing = Volatile.Read(ref _committing);
            if (committing >= options.Concurrency) return false;
        }
        while (Interlocked.CompareExchange(ref _committing, committing + 1, committing) != committing);
        _slotFreed.Release();
        return true;
    }

    /// <summary>Lets the running jobs finish within the grace period, then hands the rest back (each resumes from its
    /// last confirmed chunk on the worker that claims it next). A job that ended just as the stop came may have
    /// claimed its successor (<see cref="IJobQueue.CompleteAndClaimAsync"/>): the drain goes on until none is left.</summary>
    private async Task DrainAsync(CancellationToken kill)
    {
        if (_running.IsEmpty) return;
        _logger.WorkerDraining(Name, _running.Count, options.Grace);
        var deadline = _time.GetUtcNow() + options.Grace;
        while (_running.Values.ToList() is { Count: > 0 } left)
        {
            var all = Task.WhenAll(left.Select(r => r.Task!));
            try
            {
                var remaining = deadline - _time.GetUtcNow();
                if (remaining <= TimeSpan.Zero) throw new TimeoutException();
                await all.WaitAsync(remaining, _time, kill).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                foreach (var run in _running.Values) run.Stop(StopReason.HandBack);
                await all.ConfigureAwait(false);
            }
        }
    }

    private async Task RunJobAsync(IManifest manifest, IJobQueue queue, RunningJob run)
    {
        var job = run.Job;
        var lease = job.Lease;
        _logger.JobStarted(job.Id, job.Attempt, job.MaxAttempts, job.Source, job.Destination);
        // Where the queue can, a one-file job's transfer end is recorded with the job's end, in one statement; the
        // transfer stays locked until then (and is recorded on its own if the job's end is not).
        var held = queue.RecordsTransferEnds ? new HeldTransferEnd() : null;
        await using var heldUntilTheEnd = held;
        try
        {
            var spec = JobSpec.Parse(job.Options);
            // A user's job signs in as that user only (seed 003's users).
            var resolver = host.ResolverFor(job.User);
            var source = await resolver.ResolveAsync(job.Source, run.Token).ConfigureAwait(false);
            var destination = await resolver.ResolveAsync(job.Destination, run.Token).ConfigureAwait(false);
            var transferOptions = host.Options(spec.Settings, null, "copy");
            // A job that never ran has rarely been copied already: its file's record is read once, under its lock.
            transferOptions.LikelyNew = job.Attempt <= 1;
            if (spec.Metadata is { Count: > 0 } metadata) transferOptions.Metadata = new Dictionary<string, string>(metadata);
            transferOptions.HoldEnd = held;
            var content = await JobContent.KeyAsync(source, destination, transferOptions.Stages, run.Token).ConfigureAwait(false);
            if (content is not null)
            {
                var claim = await queue.ClaimContentAsync(lease, content, run.Token).ConfigureAwait(false);
                if (claim.WaitingFor is { } other)
                {
                    _logger.JobWaitsForContent(job.Id, other);
                    return;
                }
                if (claim is { DeliveredBy: { } earlier, Delivered: { } delivered } && JobContent.CanTell(destination)
                    && await JobContent.StillThereAsync(resolver, delivered, run.Token).ConfigureAwait(false))
                {
                    var duplicate = $"duplicate of job {earlier}: {delivered} has the same content";
                    await queue.CompleteAsync(lease, new JobProgress("done", 0, 0, 0, 0), duplicate, new JobDelivery(delivered, earlier), CancellationToken.None).ConfigureAwait(false);
                    _logger.JobCompleted(job.Id, duplicate);
                    return;
                }
            }
            var engine = host.CreateEngine(manifest);
            TransferSummary summary;
            try
            {
                summary = await engine.CopyInSessionAsync(_session.Id, source, destination, transferOptions, run.Progress, run.Token).ConfigureAwait(false);
            }
            catch (TransferInterruptedException e)
            {
                _session.Add(e.Summary);
                throw;
            }
            _session.Add(summary);
            var final = run.Progress.Final(summary);
            var quota = summary.StopReason ?? summary.Failures.FirstOrDefault(f => f.ErrorKind == ErrorKind.Quota)?.Error;
            if (summary.Status == SessionStatus.Completed)
            {
                var message = Describe(summary);
                var delivery = content is not null && run.Progress.Delivered is { } at ? new JobDelivery(at) : null;
                // The job's end and the claim of the job taking its place, in one round trip; nothing more once the
                // worker stops, nor when the job gave its slot back as it committed (the next job has taken it).
                var room = _stop.IsCancellationRequested || run.Token.IsCancellationRequested || run.KeepOrGaveSlot() ? 0 : 1;
                var transferEnd = held is { End: { } end, Recorded: false } ? end : ((TransferLease, TransferCompletion)?)null;
                var next = await queue.CompleteAndClaimAsync(lease, final, message, delivery, Name, room, options.Lease, CancellationToken.None, transferEnd)
                    .ConfigureAwait(false);
                if (transferEnd is not null) held!.MarkRecorded();
                _logger.JobCompleted(job.Id, message);
                foreach (var claimed in next) Start(manifest, queue, claimed, run.Kill);
            }
            else if (quota is not null)
                await WaitForQuotaAsync(queue, job, quota, final).ConfigureAwait(false);
            else
            {
                var error = summary.Failures.FirstOrDefault()?.Error ?? $"the copy ended {summary.Status.Name()}";
                if (summary.FilesFailed > 1) error = $"{summary.FilesFailed} files failed; first: {error}";
                await FailAsync(queue, job, error, final).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            await StoppedAsync(queue, run).ConfigureAwait(false);
        }
        catch (JobFencedException)
        {
            _logger.JobLost(job.Id);
        }
        catch (LoadPipeException e) when (e.Kind == ErrorKind.Quota)
        {
            await WaitForQuotaAsync(queue, job, e.Message, run.Progress.Final(null)).ConfigureAwait(false);
        }
        catch (Exception e) when (!IsQueueFault(e) || e is LoadPipeException)
        {
            var error = e is LoadPipeException ? e.Message : $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
            await FailAsync(queue, job, error, run.Progress.Final(null)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The queue itself is unreachable: nothing can be recorded; the lease expires and another worker (or this
            // one) takes the job over.
            _logger.QueueUnreachable(e.Message.Split('\n')[0]);
        }
    }

    private async Task StoppedAsync(IJobQueue queue, RunningJob run)
    {
        var job = run.Job;
        try
        {
            switch (run.Reason)
            {
                case StopReason.Cancel:
                    await queue.CancelledAsync(job.Lease, run.Progress.Final(null), CancellationToken.None).ConfigureAwait(false);
                    _logger.JobCancelled(job.Id);
                    break;
                case StopReason.Lost:
                    _logger.JobLost(job.Id);
                    break;
                default:
                    await queue.ReleaseAsync(job.Lease, "handed back: the worker stopped", run.Progress.Final(null), CancellationToken.None).ConfigureAwait(false);
                    _logger.JobHandedBack(job.Id);
                    break;
            }
        }
        catch (JobFencedException)
        {
            _logger.JobLost(job.Id);
        }
    }

    private async Task FailAsync(IJobQueue queue, JobRecord job, string error, JobProgress final)
    {
        try
        {
            var after = await queue.FailAsync(job.Lease, error, _time.GetUtcNow() + options.Backoff.After(job.Attempt), final, CancellationToken.None).ConfigureAwait(false);
            _logger.JobFailed(job.Id, after.Attempt, after.MaxAttempts, error);
        }
        catch (JobFencedException)
        {
            _logger.JobLost(job.Id);
        }
    }

    private async Task WaitForQuotaAsync(IJobQueue queue, JobRecord job, string reason, JobProgress final)
    {
        var until = QuotaReset(reason) ?? _time.GetUtcNow().AddHours(1);
        try
        {
            await queue.WaitForQuotaAsync(job.Lease, until, reason, final, CancellationToken.None).ConfigureAwait(false);
            _logger.JobQuotaWait(job.Id, until, reason);
        }
        catch (JobFencedException)
        {
            _logger.JobLost(job.Id);
        }
    }

    /// <summary>The reset time a quota error names, "(2026-12-08T08:00:00Z)" (YouTubeQuota's message), or null.</summary>
    public static DateTimeOffset? QuotaReset(string reason) =>
        ResetTime().Match(reason) is { Success: true } m
        && DateTimeOffset.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    [GeneratedRegex(@"\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)")]
    private static partial Regex ResetTime();

    /// <summary>Every <see cref="JobWorkerOptions.CancelCheckInterval"/>: cancel flags and lost jobs; every second,
    /// progress; every third of the lease, the leases and this worker's own heartbeat.</summary>
    private async Task WatchAsync(IJobQueue queue, DateTimeOffset started, CancellationToken cancellationToken)
    {
        var lastProgress = DateTimeOffset.MinValue;
        var lastHeartbeat = DateTimeOffset.MinValue;
        var lastCounts = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var now = _time.GetUtcNow();
                // The jobs to check are taken before the query: a job claimed while it runs is in the table but maybe
                // not in its answer, and must not be taken for lost (its worker then left it running, unrecorded).
                var watched = _running.Values.ToList();
                if (watched.Count > 0)
                {
                    var held = (await queue.HeldJobsAsync(Name, cancellationToken).ConfigureAwait(false)).ToDictionary(h => h.Id);
                    foreach (var run in watched)
                    {
                        if (!held.TryGetValue(run.Job.Id, out var row) || row.Epoch != run.Job.Epoch) run.Stop(StopReason.Lost);
                        else if (row.CancelRequested) run.Stop(StopReason.Cancel);
                    }
                }
                if (now - lastProgress >= JobDefaults.ProgressInterval)
                {
                    lastProgress = now;
                    foreach (var run in _running.Values)
                    {
                        if (run.Progress.Snapshot() is not { } progress) continue;
                        try
                        {
                            if ((await queue.ReportProgressAsync(run.Job.Lease, progress, cancellationToken).ConfigureAwait(false)).CancelRequested)
                                run.Stop(StopReason.Cancel);
                        }
                        catch (JobFencedException) { run.Stop(StopReason.Lost); }
                    }
                }
                if (now - lastHeartbeat >= options.Lease / 3)
                {
                    lastHeartbeat = now;
                    foreach (var run in _running.Values)
                    {
                        try { await queue.HeartbeatAsync(run.Job.Lease, options.Lease, cancellationToken).ConfigureAwait(false); }
                        catch (JobFencedException) { run.Stop(StopReason.Lost); }
                    }
                    await queue.RecordWorkerAsync(new WorkerRecord(Name, Core.Locations.Location.ThisHost, Environment.ProcessId, options.Concurrency,
                        _running.Count, _running.IsEmpty ? "idle" : "running", started, now), cancellationToken).ConfigureAwait(false);
                }
                if (now - lastCounts >= JobDefaults.ProgressInterval)
                {
                    lastCounts = now;
                    await _session.RecordCountsAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException && IsQueueFault(e))
            {
                _logger.QueueUnreachable(e.Message.Split('\n')[0]);
            }
            await Task.Delay(options.CancelCheckInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Describe(TransferSummary s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Files} file(s), {s.FilesSkipped} skipped, {s.BytesSent} bytes sent, {s.BytesResumed} resumed");

    /// <summary>A fault of the database under the queue (a broken connection, a timeout), as opposed to one of the job.</summary>
    private static bool IsQueueFault(Exception e) => e is System.Data.Common.DbException or TimeoutException or IOException or ManifestFailedException;

    private enum StopReason { None, Cancel, Lost, HandBack }

    private sealed class RunningJob : IDisposable
    {
        private readonly CancellationTokenSource _stop;
        private readonly Func<bool> _takeSlotBack;
        private int _reason;
        /// <summary>0: the job holds its slot; 1: committing, it would give it back; 2: given back; 3: being given back;
        /// 4: ending, it keeps it.</summary>
        private int _slot;

        public RunningJob(JobRecord job, long session, CancellationToken kill, Func<bool> takeSlotBack)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(kill);
            _takeSlotBack = takeSlotBack;
            Job = job;
            Kill = kill;
            Progress = new JobProgressObserver(job.BytesTotal, session, Committing);
        }

        public JobRecord Job { get; }
        public CancellationToken Kill { get; }
        public Task? Task { get; set; }
        public JobProgressObserver Progress { get; }

        /// <summary>Settles the slot as the job ends: true when it was given back (<see cref="TryGiveSlotBack"/>); else
        /// the job keeps it from now on (no give-back can start after this, nor be half done).</summary>
        public bool KeepOrGaveSlot()
        {
            var spin = new SpinWait();
            while (true)
            {
                var state = Volatile.Read(ref _slot);
                if (state == 2) return true;
                if (state == 4) return false;
                if (state == 3) spin.SpinOnce();
                else if (Interlocked.CompareExchange(ref _slot, 4, state) == state) return false;
            }
        }

        /// <summary>Once, when the job's one file has been sent and is committing: the job still runs (its end is
        /// recorded once the file is durable) but need no longer count against the worker's concurrency.</summary>
        private void Committing()
        {
            if (Interlocked.CompareExchange(ref _slot, 1, 0) == 0) TryGiveSlotBack();
        }

        /// <summary>Gives the slot of a committing job back when the worker takes it (<see cref="TakeSlotBack"/>); true
        /// when it did.</summary>
        public bool TryGiveSlotBack()
        {
            if (Interlocked.CompareExchange(ref _slot, 3, 1) != 1) return false;
            var given = _takeSlotBack();
            Volatile.Write(ref _slot, given ? 2 : 1);
            return given;
        }
        public CancellationToken Token => _stop.Token;
        public StopReason Reason => (StopReason)Volatile.Read(ref _reason);

        /// <summary>The first reason wins: a cancel then a lost lease stays a cancel.</summary>
        public void Stop(StopReason reason)
        {
            if (Interlocked.CompareExchange(ref _reason, (int)reason, 0) == 0)
                try { _stop.Cancel(); } catch (ObjectDisposedException) { }
        }

        public void Dispose() => _stop.Dispose();
    }
}
