namespace LoadPipe.Core.Jobs;

/// <summary>
/// The job queue, kept in the manifest beside the transfers (both manifests implement it; a front finds it with
/// <c>manifest as IJobQueue</c>). Designed as River's and Oban's: a job is a row; a claim is one statement that takes
/// a lease (holder, expiry) and increments the job's epoch; a heartbeat renews the lease; every other change is a
/// small named transition, and each write a holder makes is fenced by its <see cref="JobLease"/>. PostgreSQL claims
/// with <c>FOR UPDATE SKIP LOCKED</c>, so any number of workers on any number of machines never claim one job twice;
/// SQLite claims inside its one writer's lock, for the processes of one machine.
/// <para>Every call is atomic. A transition a job's state does not allow (cancel a completed job, retry a running one)
/// throws <see cref="Errors.LoadPipeException"/> with <see cref="Errors.ErrorKind.Usage"/> and a one-line message; an
/// unknown id, <see cref="Errors.ErrorKind.NotFound"/>.</para>
/// </summary>
public interface IJobQueue
{
    /// <summary>Queues a job, or, when a pending or running job has its <see cref="NewJob.UniqueKey"/>, returns that
    /// one with <c>Created</c> false. Wakes idle workers (PostgreSQL: NOTIFY).</summary>
    Task<(JobRecord Job, bool Created)> EnqueueAsync(NewJob job, CancellationToken cancellationToken = default);

    Task<JobRecord?> GetJobAsync(long id, CancellationToken cancellationToken = default);

    IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>The runs of a job, oldest first.</summary>
    Task<IReadOnlyList<JobAttempt>> ListAttemptsAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims up to <paramref name="count"/> pending jobs whose run-after time has come, highest priority first, then
    /// oldest: each becomes running, held by <paramref name="worker"/> until <paramref name="leaseDuration"/> from now,
    /// with its epoch and attempt incremented and a new attempt entry. Empty when none is ready.
    /// </summary>
    Task<IReadOnlyList<JobRecord>> ClaimAsync(string worker, int count, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Renews the lease of a running job for <paramref name="leaseDuration"/> from now.</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task<JobSignal> HeartbeatAsync(JobLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Records a running job's progress (a front calls it at most once a second: <see cref="JobDefaults.ProgressInterval"/>).</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task<JobSignal> ReportProgressAsync(JobLease lease, JobProgress progress, CancellationToken cancellationToken = default);

    /// <summary>The jobs <paramref name="worker"/> holds, with their epochs and whether a cancel was asked: one read a
    /// worker makes often, to stop a cancelled job within a second and to notice a job it lost.</summary>
    Task<IReadOnlyList<(long Id, long Epoch, bool CancelRequested)>> HeldJobsAsync(string worker, CancellationToken cancellationToken = default);

    /// <summary>The job is done. <paramref name="message"/>: what it did, for people ("3 files, 2 skipped").
    /// <paramref name="delivery"/>: the object it delivered (or found delivered) for its content key, which later jobs
    /// of the same content find (<see cref="ClaimContentAsync"/>); null when it has none.</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task CompleteAsync(JobLease lease, JobProgress final, string? message, JobDelivery? delivery = null, CancellationToken cancellationToken = default);

    /// <summary>Completes the job (<see cref="CompleteAsync"/>), then claims up to <paramref name="count"/> ready jobs for
    /// <paramref name="worker"/> (<see cref="ClaimAsync"/>): a worker whose job ends takes its next one in the same round
    /// trip where the manifest can (PostgreSQL: one statement). Nothing is claimed when the job was not this holder's.
    /// <paramref name="transferEnd"/>, only where <see cref="RecordsTransferEnds"/>: the end of the job's one transfer
    /// (<see cref="Manifest.IManifest.CompleteTransferAsync"/>'s arguments), recorded in the same transaction, fenced by
    /// the transfer's epoch whatever becomes of the job's own fence (the file is durable either way).</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    async Task<IReadOnlyList<JobRecord>> CompleteAndClaimAsync(JobLease lease, JobProgress final, string? message, JobDelivery? delivery,
        string worker, int count, TimeSpan leaseDuration, CancellationToken cancellationToken = default,
        (Manifest.TransferLease Lease, Manifest.TransferCompletion Completion)? transferEnd = null)
    {
        if (transferEnd is not null) throw new NotSupportedException("this queue does not record a transfer's end with a job's");
        await CompleteAsync(lease, final, message, delivery, cancellationToken).ConfigureAwait(false);
        return count > 0 ? await ClaimAsync(worker, count, leaseDuration, cancellationToken).ConfigureAwait(false) : [];
    }

    /// <summary>True when <see cref="CompleteAndClaimAsync"/> records a transfer's end with the job's, in one
    /// transaction. Default false.</summary>
    bool RecordsTransferEnds => false;

    /// <summary>
    /// A running job says what it will deliver: <paramref name="contentKey"/> (its content's hash, its destination and
    /// stages). Atomic against every other claim of the same key: when another running job holds the key, this job goes
    /// back to pending at once, its attempt not counted, and is not claimed again until that job's run ends
    /// (<see cref="ContentClaim.WaitingFor"/>); two jobs of the same content never run at once. Otherwise the job holds
    /// the key, and the answer names the newest completed job that delivered it, if one did: the caller checks that the
    /// object is still there before it completes the job as a duplicate.
    /// </summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task<ContentClaim> ClaimContentAsync(JobLease lease, string contentKey, CancellationToken cancellationToken = default);

    /// <summary>The run failed: the job goes back to pending, to run at <paramref name="retryAt"/>, while attempts are
    /// left, and is failed for good when none is. Returns the job as it is after.</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task<JobRecord> FailAsync(JobLease lease, string error, DateTimeOffset retryAt, JobProgress? final = null, CancellationToken cancellationToken = default);

    /// <summary>The destination's quota is spent until <paramref name="until"/>: the job goes back to pending until
    /// then without counting the attempt, and every pending job of its <see cref="NewJob.QuotaScope"/> waits as long.</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task WaitForQuotaAsync(JobLease lease, DateTimeOffset until, string reason, JobProgress? final = null, CancellationToken cancellationToken = default);

    /// <summary>Hands a running job back (its worker is stopping): pending at once, the attempt not counted.</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task ReleaseAsync(JobLease lease, string reason, JobProgress? final = null, CancellationToken cancellationToken = default);

    /// <summary>The holder stopped the job after a cancel was asked: it is cancelled.</summary>
    /// <exception cref="JobFencedException">The job is no longer this holder's.</exception>
    Task CancelledAsync(JobLease lease, JobProgress? final = null, CancellationToken cancellationToken = default);

    /// <summary>Cancels a job: a pending one at once; a running one is marked, and its holder stops it (within a
    /// second) or, if the holder is gone, the rescue of its expired lease does. Usage error for a finished job.</summary>
    Task<JobRecord> CancelAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Queues a failed or cancelled job again, now, with its attempts reset. Usage error for another state.</summary>
    Task<JobRecord> RetryAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Running jobs whose lease expired (their worker died): back to pending (or failed when no attempt is
    /// left, or cancelled when a cancel was asked), so another worker takes them over. Returns how many.</summary>
    Task<int> RescueExpiredAsync(CancellationToken cancellationToken = default);

    /// <summary>Records a worker's heartbeat (the dashboard's list of workers); a state of "stopped" removes it.</summary>
    Task RecordWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken = default);

    IAsyncEnumerable<WorkerRecord> ListWorkersAsync(CancellationToken cancellationToken = default);

    /// <summary>Records that schedule <paramref name="schedule"/> has queued the file <paramref name="fileKey"/> (its
    /// location key and identity) and queues <paramref name="job"/> for it, in one transaction; null, and nothing
    /// queued, when the schedule queued that file before (at any tick, by any worker).</summary>
    Task<JobRecord?> EnqueueScheduledFileAsync(string schedule, string fileKey, NewJob job, CancellationToken cancellationToken = default);

    /// <summary>Adds a schedule; Usage error when one has this name.</summary>
    Task AddScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default);

    /// <summary>False when there was no schedule of that name.</summary>
    Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims the tick <paramref name="tick"/> of a schedule whose next tick it still is: in one transaction, moves
    /// the schedule's next tick to <paramref name="nextTick"/> and queues <paramref name="job"/>. Null when another
    /// worker claimed that tick first (or the schedule is gone): each tick runs once across all workers.
    /// </summary>
    Task<JobRecord?> ClaimScheduleTickAsync(string name, DateTimeOffset tick, DateTimeOffset nextTick, NewJob job, CancellationToken cancellationToken = default);

    /// <summary>Claims the tick <paramref name="tick"/> of a schedule whose next tick it still is, moving its next tick to
    /// <paramref name="nextTick"/>, without queueing anything (the winner then queues each new file:
    /// <see cref="EnqueueScheduledFileAsync"/>). False when another worker claimed it first or the schedule is gone.</summary>
    Task<bool> ClaimTickAsync(string name, DateTimeOffset tick, DateTimeOffset nextTick, CancellationToken cancellationToken = default);

    /// <summary>Waits until a job may be ready (PostgreSQL: a NOTIFY from an enqueue, a retry or a finished job) or
    /// <paramref name="timeout"/> passes (the polling fallback, and SQLite's only way).</summary>
    Task WaitForJobsAsync(TimeSpan timeout, CancellationToken cancellationToken = default);
}
