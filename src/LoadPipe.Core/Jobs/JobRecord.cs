namespace LoadPipe.Core.Jobs;

/// <summary>Where a job is in its life. Pending and running are active; the other three are final until a retry.</summary>
public enum JobState { Pending, Running, Completed, Failed, Cancelled }

/// <summary>A job to queue (<see cref="IJobQueue.EnqueueAsync"/>).</summary>
/// <param name="Source">What to copy, as a front resolves it (a remote's NAME:path, a URL, an absolute local path).</param>
/// <param name="Destination">Where to, likewise.</param>
/// <param name="Options">The front's settings for the copy (flags, metadata) as JSON: opaque to the queue.</param>
public sealed record NewJob(string Source, string Destination, string Options)
{
    /// <summary>Who the job runs for (seed 003's users); null for the default sign-in.</summary>
    public string? User { get; init; }

    /// <summary>Higher runs first. Default 0.</summary>
    public int Priority { get; init; }

    /// <summary>Not claimed before this time. Default null: at once.</summary>
    public DateTimeOffset? RunAfter { get; init; }

    /// <summary>Runs that may fail before the job is failed for good. Default <see cref="JobDefaults.MaxAttempts"/>.</summary>
    public int MaxAttempts { get; init; } = JobDefaults.MaxAttempts;

    /// <summary>While a pending or running job has this key, another with it is not queued: the existing one is
    /// returned. Default null: no such check.</summary>
    public string? UniqueKey { get; init; }

    /// <summary>Jobs with the same scope share a quota (a YouTube channel): when one finds it spent, the others wait too.</summary>
    public string? QuotaScope { get; init; }

    /// <summary>The schedule that queued the job, if one did.</summary>
    public string? Schedule { get; init; }
}

/// <summary>The right to write one job's row while running it: the id and the epoch its claim gave. A holder whose lease
/// expired and was claimed again by another worker gets <see cref="JobFencedException"/> on its next write.</summary>
public sealed record JobLease(long Id, long Epoch, int Run);

/// <summary>A job as the queue holds it. Times are UTC.</summary>
public sealed record JobRecord
{
    public required long Id { get; init; }
    public required JobState State { get; init; }
    /// <summary>What a running job is doing (starting, copying, verifying), or why a pending one waits (quota).</summary>
    public string? Phase { get; init; }
    public required string Source { get; init; }
    public required string Destination { get; init; }
    public required string Options { get; init; }
    public string? User { get; init; }
    public int Priority { get; init; }
    public DateTimeOffset RunAfter { get; init; }
    /// <summary>Runs that counted against <see cref="MaxAttempts"/> (a quota wait or a hand-back does not count).</summary>
    public int Attempt { get; init; }
    public int MaxAttempts { get; init; }
    /// <summary>Every claim, counted or not: the number of the newest entry of <see cref="IJobQueue.ListAttemptsAsync"/>.</summary>
    public int Runs { get; init; }
    public long BytesDone { get; init; }
    /// <summary>-1 while not known.</summary>
    public long BytesTotal { get; init; } = -1;
    public string? Message { get; init; }
    public string? Error { get; init; }
    /// <summary>The worker that holds a running job.</summary>
    public string? Holder { get; init; }
    public DateTimeOffset? LeaseExpires { get; init; }
    public long Epoch { get; init; }
    public bool CancelRequested { get; init; }
    public string? UniqueKey { get; init; }
    public string? QuotaScope { get; init; }
    public string? Schedule { get; init; }
    /// <summary>The manifest session of the newest run (its files, bytes, hashes: `lp status SESSION`).</summary>
    public long? SessionId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>What the job delivers, once its worker knew it (<see cref="IJobQueue.ClaimContentAsync"/>).</summary>
    public string? ContentKey { get; init; }
    /// <summary>The object a completed job delivered, or found delivered, for its content.</summary>
    public string? Delivered { get; init; }
    /// <summary>The earlier job whose delivered object has this job's content: this one sent nothing.</summary>
    public long? DuplicateOf { get; init; }

    /// <summary>The lease a running job's holder writes with.</summary>
    public JobLease Lease => new(Id, Epoch, Runs);

    public bool IsFinal => State is JobState.Completed or JobState.Failed or JobState.Cancelled;
}

/// <summary>What a completed job delivered (<see cref="IJobQueue.CompleteAsync"/>).</summary>
/// <param name="Object">The delivered object's location, as a front can resolve it again to check it still exists.</param>
/// <param name="DuplicateOf">The earlier job that delivered it, when this job found it there and sent nothing.</param>
public sealed record JobDelivery(string Object, long? DuplicateOf = null);

/// <summary>The answer of <see cref="IJobQueue.ClaimContentAsync"/>.</summary>
/// <param name="WaitingFor">Another running job holds the content: this job is pending again and waits for it.</param>
/// <param name="DeliveredBy">The newest completed job that delivered this content, or null.</param>
/// <param name="Delivered">The object that job delivered.</param>
public sealed record ContentClaim(long? WaitingFor, long? DeliveredBy, string? Delivered);

/// <summary>One run of a job: who ran it, when, what it sent and resumed, and how it ended.</summary>
public sealed record JobAttempt(long JobId, int Run, string Worker, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    long BytesSent, long BytesResumed, string? Error, long? SessionId);

/// <summary>How far a running job is; persisted by <see cref="IJobQueue.ReportProgressAsync"/>.</summary>
/// <param name="BytesDone">Source bytes handled, resumed ones included.</param>
/// <param name="BytesTotal">-1 while not known.</param>
/// <param name="BytesSent">Bytes this run sent.</param>
/// <param name="BytesResumed">Bytes this run found already confirmed and did not send again.</param>
public sealed record JobProgress(string Phase, long BytesDone, long BytesTotal, long BytesSent, long BytesResumed, string? Message = null, long? SessionId = null);

/// <summary>What a worker learns from a heartbeat or a progress write.</summary>
/// <param name="CancelRequested">Someone asked to cancel the job: the holder stops it and records it cancelled.</param>
public readonly record struct JobSignal(bool CancelRequested);

/// <summary>A filter for <see cref="IJobQueue.ListJobsAsync"/>: newest first, <see cref="Limit"/> at most, with ids below
/// <see cref="BeforeId"/> (the page after one that ended with that id).</summary>
public sealed record JobQuery
{
    public JobState? State { get; init; }
    public string? User { get; init; }
    public int Limit { get; init; } = 100;
    public long? BeforeId { get; init; }
    /// <summary>Only jobs changed after this time (an event stream's next read).</summary>
    public DateTimeOffset? UpdatedAfter { get; init; }
}

/// <summary>A worker process as it last reported itself.</summary>
public sealed record WorkerRecord(string Name, string Host, int ProcessId, int Concurrency, int Running, string State,
    DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);

/// <summary>A cron schedule that queues a copy at each tick.</summary>
public sealed record ScheduleRecord
{
    public required string Name { get; init; }
    public required string Cron { get; init; }
    /// <summary>An IANA or Windows time zone id; "UTC" by default.</summary>
    public required string TimeZone { get; init; }
    public required string Source { get; init; }
    public required string Destination { get; init; }
    public required string Options { get; init; }
    public string? User { get; init; }
    public int Priority { get; init; }
    public int MaxAttempts { get; init; } = JobDefaults.MaxAttempts;
    /// <summary>The next tick that has not run.</summary>
    public DateTimeOffset NextTick { get; init; }
    public DateTimeOffset? LastTick { get; init; }
    public long? LastJobId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>The defaults of the queue, in one place.</summary>
public static class JobDefaults
{
    /// <summary>Runs a job may take before it is failed for good: 3.</summary>
    public const int MaxAttempts = 3;

    /// <summary>How long a claim holds without a heartbeat: 30 s.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    /// <summary>The first wait before a failed job runs again: 10 s, doubling each attempt, with jitter.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between attempts: 10 min.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>Progress is written at most this often: 1 s.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);
}

/// <summary>Thrown by a job write whose <see cref="JobLease"/> is no longer the job's: its lease expired and another
/// worker claimed it, or it was finished meanwhile. Nothing was changed; the job is the other holder's.</summary>
public sealed class JobFencedException(JobLease lease)
    : Errors.LoadPipeException(Errors.ErrorKind.Busy, $"job {lease.Id} was taken over by another worker (epoch {lease.Epoch} is no longer current)")
{
    public JobLease Lease { get; } = lease;
}
