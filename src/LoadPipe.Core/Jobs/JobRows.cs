using System.Data.Common;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Jobs;

/// <summary>
/// The SQL of the job queue that SQLite and PostgreSQL share (both take <c>@name</c> parameters), and the readers of
/// its rows, so that the two manifests cannot drift apart. Each manifest adds what only it can do: PostgreSQL's claim
/// with <c>FOR UPDATE SKIP LOCKED</c> and NOTIFY, SQLite's transactions around statements PostgreSQL runs as one.
/// Times are Unix milliseconds; states are stored in lower case.
/// </summary>
public static class JobRows
{
    public const string Columns = """
        id, state, phase, source, destination, options, user_name, priority, run_after, attempt, max_attempts, runs,
        bytes_done, bytes_total, message, error, holder, lease_expires, epoch, cancel_requested, unique_key, quota_scope,
        schedule, session_id, created_at, updated_at, finished_at, content_key, delivered, duplicate_of
        """;

    public const string Select = "SELECT " + Columns + " FROM jobs";

    /// <summary>The partial unique index's predicate: a key is unique among the active jobs only, so that a job done
    /// (or failed) may be queued again.</summary>
    public const string ActivePredicate = "state IN ('pending', 'running')";

    /// <summary>Queues a job unless an active one has its key (then no row comes back).</summary>
    public const string Insert = $"""
        INSERT INTO jobs(state, source, destination, options, user_name, priority, run_after, max_attempts, unique_key,
            quota_scope, schedule, created_at, updated_at)
        VALUES ('pending', @source, @destination, @options, @user, @priority, @run_after, @max_attempts, @unique_key,
            @quota_scope, @schedule, @now, @now)
        ON CONFLICT (unique_key) WHERE {ActivePredicate} DO NOTHING
        RETURNING {Columns}
        """;

    public const string SelectActiveByKey = Select + " WHERE unique_key = @unique_key AND " + ActivePredicate;

    public const string SelectAttempts = """
        SELECT job_id, run, worker, started_at, ended_at, bytes_sent, bytes_resumed, error, session_id
        FROM job_attempts WHERE job_id = @id ORDER BY run
        """;

    /// <summary>A claim's changes to each job it takes: the new lease and epoch, one more attempt and run. The content
    /// key is dropped: the new holder claims it again (<see cref="IJobQueue.ClaimContentAsync"/>), so that two jobs of
    /// one content claimed together do not both see the other.</summary>
    public const string ClaimSet = """
        state = 'running', phase = 'starting', holder = @worker, lease_expires = @expires, epoch = epoch + 1,
        attempt = attempt + 1, runs = runs + 1, message = NULL, updated_at = @now, content_key = NULL
        """;

    /// <summary>The pending jobs a claim may take: their time has come, and no running job holds their content (a job
    /// that waits for another of the same content is taken once that one's run ends).</summary>
    public const string Claimable = """
        state = 'pending' AND run_after <= @now
        AND (content_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs AS other WHERE other.content_key = jobs.content_key AND other.state = 'running'))
        """;

    /// <summary>Another running job that holds the content key.</summary>
    public const string ContentHolder = "SELECT id FROM jobs WHERE content_key = @key AND state = 'running' AND id <> @id LIMIT 1";

    /// <summary>The holder takes the content key.</summary>
    public const string TakeContent = "UPDATE jobs SET content_key = @key WHERE " + Fence + " RETURNING id";

    /// <summary>The holder steps back for the job that holds the content: pending now (not claimable while that one
    /// runs), the attempt not counted.</summary>
    public const string WaitForContent = """
        UPDATE jobs SET state = 'pending', phase = @phase, content_key = @key, holder = NULL, lease_expires = NULL,
            attempt = attempt - 1, run_after = @now, updated_at = @now
        WHERE id = @id AND epoch = @epoch AND state = 'running' RETURNING id
        """;

    /// <summary>The phase of a job that waits for another of the same content.</summary>
    public static string WaitingPhase(long other) => $"waiting for job {other} (same content)";

    public const string EndAttemptWaiting = "UPDATE job_attempts SET ended_at = @now, error = @phase WHERE job_id = @id AND run = @run";

    /// <summary>The newest completed job that delivered the content.</summary>
    public const string DeliveredContent = """
        SELECT id, delivered FROM jobs WHERE content_key = @key AND state = 'completed' AND delivered IS NOT NULL
        ORDER BY finished_at DESC, id DESC LIMIT 1
        """;

    /// <summary>A schedule's record of a file it queued: inserted once per (schedule, file).</summary>
    public const string InsertScheduleFile = """
        INSERT INTO job_schedule_files(schedule, file_key, queued_at) VALUES (@schedule, @file_key, @now)
        ON CONFLICT (schedule, file_key) DO NOTHING
        """;

    public const string InsertAttempt = "INSERT INTO job_attempts(job_id, run, worker, started_at) VALUES (@id, @run, @worker, @now)";

    /// <summary>Every write of a holder matches its lease: the epoch its claim gave, while the job still runs.</summary>
    public const string Fence = "id = @id AND epoch = @epoch AND state = 'running'";

    public const string Heartbeat = "UPDATE jobs SET lease_expires = @expires WHERE " + Fence + " RETURNING cancel_requested";

    public const string Progress = """
        UPDATE jobs SET phase = @phase, bytes_done = @done, bytes_total = @total, message = @message,
            session_id = COALESCE(@session, session_id), updated_at = @now
        WHERE id = @id AND epoch = @epoch AND state = 'running' RETURNING cancel_requested
        """;

    public const string AttemptProgress = """
        UPDATE job_attempts SET bytes_sent = @sent, bytes_resumed = @resumed, session_id = COALESCE(@session, session_id)
        WHERE job_id = @id AND run = @run
        """;

    /// <summary>Ends the holder's attempt entry: its bytes (when given) and how it ended.</summary>
    public const string EndAttempt = """
        UPDATE job_attempts SET ended_at = @now, error = @attempt_error, bytes_sent = COALESCE(@sent, bytes_sent),
            bytes_resumed = COALESCE(@resumed, bytes_resumed), session_id = COALESCE(@session, session_id)
        WHERE job_id = @id AND run = @run
        """;

    public const string Held = "SELECT id, epoch, cancel_requested FROM jobs WHERE holder = @worker AND state = 'running'";

    /// <summary>The end of a run, for each way it ends (the SET of the fenced UPDATE). Every one drops the lease and
    /// takes @now, @error, @retry_at, @done, @total, @phase and @message (some unused, so that all bind alike).</summary>
    public static string EndRunSet(JobEnd end) => end switch
    {
        JobEnd.Completed => "state = 'completed', phase = NULL, error = NULL, finished_at = @now, delivered = @delivered, duplicate_of = @duplicate_of" + Common,
        JobEnd.Failed => """
            state = CASE WHEN attempt < max_attempts THEN 'pending' ELSE 'failed' END, phase = NULL, error = @error,
            run_after = @retry_at, finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE @now END
            """ + Common,
        JobEnd.QuotaWait => "state = 'pending', phase = @phase, error = @error, run_after = @retry_at, attempt = attempt - 1" + Common,
        JobEnd.Released => "state = 'pending', phase = NULL, run_after = @now, attempt = attempt - 1" + Common,
        JobEnd.Cancelled => "state = 'cancelled', phase = NULL, finished_at = @now" + Common,
        _ => throw new ArgumentOutOfRangeException(nameof(end)),
    };

    private const string Common = """
        , holder = NULL, lease_expires = NULL, updated_at = @now, session_id = COALESCE(@session, session_id),
        bytes_done = COALESCE(@done, bytes_done), bytes_total = COALESCE(@total, bytes_total), message = COALESCE(@message, message)
        """;

    /// <summary>A spent quota holds back the other pending jobs of its scope as long (never brings one forward).</summary>
    public const string DeferQuotaScope = """
        UPDATE jobs SET run_after = @retry_at, phase = @phase
        WHERE state = 'pending' AND quota_scope = @scope AND run_after < @retry_at
        """;

    public const string Cancel = $"""
        UPDATE jobs SET cancel_requested = 1,
            finished_at = CASE WHEN state = 'pending' THEN @now ELSE finished_at END,
            phase = CASE WHEN state = 'pending' THEN NULL ELSE phase END,
            state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END, updated_at = @now
        WHERE id = @id AND {ActivePredicate}
        RETURNING {Columns}
        """;

    public const string Retry = $"""
        UPDATE jobs SET state = 'pending', attempt = 0, run_after = @now, cancel_requested = 0, finished_at = NULL,
            phase = NULL, error = NULL, message = NULL, updated_at = @now
        WHERE id = @id AND state IN ('failed', 'cancelled')
        RETURNING {Columns}
        """;

    /// <summary>Running jobs whose holder stopped renewing: cancelled if asked, failed when no attempt is left, else pending now.</summary>
    public const string RescueSet = """
        state = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN attempt >= max_attempts THEN 'failed' ELSE 'pending' END,
        error = CASE WHEN cancel_requested = 1 THEN error ELSE 'worker ' || holder || ' stopped renewing its lease' END,
        finished_at = CASE WHEN cancel_requested = 1 OR attempt >= max_attempts THEN @now END,
        phase = NULL, holder = NULL, lease_expires = NULL, run_after = @now, updated_at = @now
        """;

    public const string RescueWhere = "state = 'running' AND lease_expires < @now";

    public const string UpsertWorker = """
        INSERT INTO job_workers(name, host, pid, concurrency, running, state, started_at, heartbeat_at)
        VALUES (@name, @host, @pid, @concurrency, @running, @state, @started, @now)
        ON CONFLICT (name) DO UPDATE SET running = excluded.running, state = excluded.state, heartbeat_at = excluded.heartbeat_at,
            concurrency = excluded.concurrency
        """;

    public const string SelectWorkers = "SELECT name, host, pid, concurrency, running, state, started_at, heartbeat_at FROM job_workers ORDER BY name";

    public const string ScheduleColumns = """
        name, cron, time_zone, source, destination, options, user_name, priority, max_attempts, next_tick, last_tick, created_at,
        (SELECT MAX(id) FROM jobs WHERE jobs.schedule = job_schedules.name)
        """;

    public const string InsertSchedule = """
        INSERT INTO job_schedules(name, cron, time_zone, source, destination, options, user_name, priority, max_attempts, next_tick, created_at)
        VALUES (@name, @cron, @tz, @source, @destination, @options, @user, @priority, @max_attempts, @next_tick, @now)
        ON CONFLICT (name) DO NOTHING
        """;

    public const string AdvanceSchedule = "UPDATE job_schedules SET next_tick = @next_tick, last_tick = @tick WHERE name = @name AND next_tick = @tick";

    /// <summary>The parameters of <see cref="Insert"/> for <paramref name="job"/>.</summary>
    public static (string, object?)[] InsertParameters(NewJob job, long now) =>
    [
        ("source", job.Source), ("destination", job.Destination), ("options", job.Options), ("user", job.User),
        ("priority", job.Priority), ("run_after", job.RunAfter?.ToUnixTimeMilliseconds() ?? now),
        ("max_attempts", Math.Max(1, job.MaxAttempts)), ("unique_key", job.UniqueKey), ("quota_scope", job.QuotaScope),
        ("schedule", job.Schedule), ("now", now),
    ];

    /// <summary>The parameters every <see cref="EndRunSet"/> and <see cref="EndAttempt"/> bind.</summary>
    public static (string, object?)[] EndParameters(JobLease lease, long now, string? error, long? retryAt, JobProgress? final, string? message, string? phase,
        JobDelivery? delivery = null) =>
    [
        ("delivered", delivery?.Object), ("duplicate_of", delivery?.DuplicateOf),
        ("id", lease.Id), ("epoch", lease.Epoch), ("run", lease.Run), ("now", now), ("error", error), ("retry_at", retryAt ?? now),
        ("done", final?.BytesDone), ("total", final?.BytesTotal), ("message", message ?? final?.Message), ("phase", phase),
        ("attempt_error", error), ("sent", final?.BytesSent), ("resumed", final?.BytesResumed), ("session", final?.SessionId),
    ];

    public static JobRecord Read(DbDataReader r) => new()
    {
        Id = r.GetInt64(0),
        State = ParseState(r.GetString(1)),
        Phase = Text(r, 2),
        Source = r.GetString(3),
        Destination = r.GetString(4),
        Options = r.GetString(5),
        User = Text(r, 6),
        Priority = r.GetInt32(7),
        RunAfter = Time(r.GetInt64(8)),
        Attempt = r.GetInt32(9),
        MaxAttempts = r.GetInt32(10),
        Runs = r.GetInt32(11),
        BytesDone = r.GetInt64(12),
        BytesTotal = r.GetInt64(13),
        Message = Text(r, 14),
        Error = Text(r, 15),
        Holder = Text(r, 16),
        LeaseExpires = r.IsDBNull(17) ? null : Time(r.GetInt64(17)),
        Epoch = r.GetInt64(18),
        CancelRequested = r.GetInt32(19) != 0,
        UniqueKey = Text(r, 20),
        QuotaScope = Text(r, 21),
        Schedule = Text(r, 22),
        SessionId = r.IsDBNull(23) ? null : r.GetInt64(23),
        CreatedAt = Time(r.GetInt64(24)),
        UpdatedAt = Time(r.GetInt64(25)),
        FinishedAt = r.IsDBNull(26) ? null : Time(r.GetInt64(26)),
        ContentKey = Text(r, 27),
        Delivered = Text(r, 28),
        DuplicateOf = r.IsDBNull(29) ? null : r.GetInt64(29),
    };

    public static JobAttempt ReadAttempt(DbDataReader r) => new(
        r.GetInt64(0), r.GetInt32(1), r.GetString(2), Time(r.GetInt64(3)), r.IsDBNull(4) ? null : Time(r.GetInt64(4)),
        r.GetInt64(5), r.GetInt64(6), Text(r, 7), r.IsDBNull(8) ? null : r.GetInt64(8));

    public static WorkerRecord ReadWorker(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), r.GetString(5), Time(r.GetInt64(6)), Time(r.GetInt64(7)));

    public static ScheduleRecord ReadSchedule(DbDataReader r) => new()
    {
        Name = r.GetString(0),
        Cron = r.GetString(1),
        TimeZone = r.GetString(2),
        Source = r.GetString(3),
        Destination = r.GetString(4),
        Options = r.GetString(5),
        User = Text(r, 6),
        Priority = r.GetInt32(7),
        MaxAttempts = r.GetInt32(8),
        NextTick = Time(r.GetInt64(9)),
        LastTick = r.IsDBNull(10) ? null : Time(r.GetInt64(10)),
        CreatedAt = Time(r.GetInt64(11)),
        LastJobId = r.IsDBNull(12) ? null : r.GetInt64(12),
    };

    /// <summary>The WHERE and parameters of a <see cref="JobQuery"/> (newest first).</summary>
    public static (string Sql, (string, object?)[] Parameters) List(JobQuery query)
    {
        var where = new List<string>();
        var parameters = new List<(string, object?)> { ("limit", Math.Clamp(query.Limit, 1, 10_000)) };
        if (query.State is { } state) { where.Add("state = @state"); parameters.Add(("state", Name(state))); }
        if (query.User is { } user) { where.Add("user_name = @user"); parameters.Add(("user", user)); }
        if (query.BeforeId is { } before) { where.Add("id < @before"); parameters.Add(("before", before)); }
        if (query.UpdatedAfter is { } after) { where.Add("updated_at > @updated_after"); parameters.Add(("updated_after", after.ToUnixTimeMilliseconds())); }
        var sql = Select + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY id DESC LIMIT @limit";
        return (sql, [.. parameters]);
    }

    /// <summary>Why a transition was refused, for a job found in <paramref name="job"/>'s state (null: no such job).</summary>
    public static LoadPipeException Refused(long id, JobRecord? job, string action) => job is null
        ? new LoadPipeException(ErrorKind.NotFound, $"job {id} does not exist (see lp jobs list)")
        : new LoadPipeException(ErrorKind.Usage, action switch
        {
            "cancel" => $"job {id} is {Name(job.State)}: only a pending or running job can be cancelled",
            _ => $"job {id} is {Name(job.State)}: only a failed or cancelled job can be retried{(job.State == JobState.Running ? " (cancel it first)" : "")}",
        });

    public static string Name(JobState state) => state switch
    {
        JobState.Pending => "pending",
        JobState.Running => "running",
        JobState.Completed => "completed",
        JobState.Failed => "failed",
        JobState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static JobState ParseState(string text) => TryParseState(text) ?? throw new FormatException($"unknown job state '{text}'");

    public static JobState? TryParseState(string text) => text.ToLowerInvariant() switch
    {
        "pending" => JobState.Pending,
        "running" => JobState.Running,
        "completed" => JobState.Completed,
        "failed" => JobState.Failed,
        "cancelled" or "canceled" => JobState.Cancelled,
        _ => null,
    };

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}

/// <summary>How a run ends (<see cref="JobRows.EndRunSet"/>).</summary>
public enum JobEnd { Completed, Failed, QuotaWait, Released, Cancelled }
