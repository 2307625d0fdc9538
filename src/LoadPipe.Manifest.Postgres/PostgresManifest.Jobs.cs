using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using Npgsql;

namespace LoadPipe.Manifest.Postgres;

/// <summary>
/// The job queue (<see cref="IJobQueue"/>) that workers on many machines share: the statements of
/// <see cref="JobRows"/>, each transition one statement (data-modifying WITH clauses), a claim with
/// <c>FOR UPDATE SKIP LOCKED</c> so that concurrent workers skip each other's rows instead of waiting on them, and
/// <c>NOTIFY lp_jobs</c> whenever a job becomes ready, which <see cref="WaitForJobsAsync"/> listens for on a connection of
/// its own.
/// </summary>
public sealed partial class PostgresManifest : IJobQueue
{
    private const string Channel = "lp_jobs";

    private readonly SemaphoreSlim _listenGate = new(1, 1);
    private NpgsqlConnection? _listener;

    public async Task<(JobRecord Job, bool Created)> EnqueueAsync(NewJob job, CancellationToken cancellationToken = default)
    {
        // The ON CONFLICT and the read of the existing job are two statements: a job finished between them frees its
        // key, and the loop queues the new one then.
        for (var i = 0; ; i++)
        {
            await using (var insert = Command($"WITH j AS ({JobRows.Insert}) SELECT j.*, pg_notify('{Channel}', j.id::text) FROM j", JobRows.InsertParameters(job, Now())))
            {
                if (await ReadJobAsync(insert, cancellationToken).ConfigureAwait(false) is { } created) return (created, true);
            }
            await using var existing = Command(JobRows.SelectActiveByKey, ("unique_key", job.UniqueKey));
            if (await ReadJobAsync(existing, cancellationToken).ConfigureAwait(false) is { } found) return (found, false);
            if (i >= 3) throw new InvalidOperationException("the job's unique key kept conflicting with jobs that then finished");
        }
    }

    public async Task<JobRecord?> GetJobAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.Select + " WHERE id = @id", ("id", id));
        return await ReadJobAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (sql, parameters) = JobRows.List(query);
        await using var cmd = Command(sql, parameters);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return JobRows.Read(r);
    }

    public async Task<IReadOnlyList<JobAttempt>> ListAttemptsAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.SelectAttempts, ("id", id));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var attempts = new List<JobAttempt>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) attempts.Add(JobRows.ReadAttempt(r));
        return attempts;
    }

    /// <summary>One statement: pick the ready rows no other transaction has locked (SKIP LOCKED), take them, and add
    /// their attempt entries. Two workers claiming at once get different jobs, never the same one, and never wait.</summary>
    public async Task<IReadOnlyList<JobRecord>> ClaimAsync(string worker, int count, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        var now = Now();
        await using var cmd = Command($"""
            WITH next AS (
                SELECT id FROM jobs WHERE {JobRows.Claimable}
                ORDER BY priority DESC, run_after, id LIMIT @count FOR UPDATE SKIP LOCKED
            ), taken AS (
                UPDATE jobs SET {JobRows.ClaimSet} FROM next WHERE jobs.id = next.id RETURNING jobs.*
            ), attempts AS (
                INSERT INTO job_attempts(job_id, run, worker, started_at) SELECT id, runs, @worker, @now FROM taken
            )
            SELECT {JobRows.Columns} FROM taken ORDER BY priority DESC, run_after, id
            """, ("worker", worker), ("expires", now + (long)leaseDuration.TotalMilliseconds), ("now", now), ("count", count));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var claimed = new List<JobRecord>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) claimed.Add(JobRows.Read(r));
        return claimed;
    }

    public async Task<JobSignal> HeartbeatAsync(JobLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.Heartbeat, ("expires", Now() + (long)leaseDuration.TotalMilliseconds), ("id", lease.Id), ("epoch", lease.Epoch));
        var cancel = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return cancel is null or DBNull ? throw new JobFencedException(lease) : new JobSignal(Convert.ToInt64(cancel) != 0);
    }

    public async Task<JobSignal> ReportProgressAsync(JobLease lease, JobProgress progress, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command($"""
            WITH j AS ({JobRows.Progress}),
            a AS (UPDATE job_attempts SET bytes_sent = @sent, bytes_resumed = @resumed, session_id = COALESCE(@session, session_id)
                  WHERE job_id = @id AND run = @run AND EXISTS (SELECT 1 FROM j))
            SELECT cancel_requested FROM j
            """, ("phase", progress.Phase), ("done", progress.BytesDone), ("total", progress.BytesTotal), ("message", progress.Message),
            ("session", progress.SessionId), ("now", Now()), ("id", lease.Id), ("epoch", lease.Epoch), ("run", lease.Run),
            ("sent", progress.BytesSent), ("resumed", progress.BytesResumed));
        var cancel = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return cancel is null or DBNull ? throw new JobFencedException(lease) : new JobSignal(Convert.ToInt64(cancel) != 0);
    }

    public async Task<IReadOnlyList<(long Id, long Epoch, bool CancelRequested)>> HeldJobsAsync(string worker, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.Held, ("worker", worker));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var held = new List<(long, long, bool)>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) held.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt32(2) != 0));
        return held;
    }

    public Task CompleteAsync(JobLease lease, JobProgress final, string? message, JobDelivery? delivery = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Completed, JobRows.EndParameters(lease, Now(), null, null, final, message, null, delivery), "", cancellationToken);

    /// <summary>One statement: the fenced end of the run and its attempt entry, then, only when that end was recorded, the
    /// claim of the next ready jobs (<see cref="ClaimAsync"/>'s clauses), and a NOTIFY when the job held a content key
    /// (jobs of the same content wait for it). The claim's snapshot still sees the ended job as running: it is never
    /// taken again, and a job waiting for its content is taken by a later claim.</summary>
    public async Task<IReadOnlyList<JobRecord>> CompleteAndClaimAsync(JobLease lease, JobProgress final, string? message, JobDelivery? delivery,
        string worker, int count, TimeSpan leaseDuration, CancellationToken cancellationToken = default,
        (TransferLease Lease, TransferCompletion Completion)? transferEnd = null)
    {
        var now = Now();
        // The transfer's end is fenced by its own epoch only: the file is durable, whoever holds the job now.
        (string, object?)[] transfer = transferEnd is { } t
            ? [.. CompleteTransferParameters("t_", t.Completion, now), ("t_id", t.Lease.Id), ("t_epoch", t.Lease.Epoch)]
            : [];
        await using var cmd = Command($"""
            WITH {(transferEnd is null ? "" : CompleteTransferSteps("t_") + ",")}
            j AS (UPDATE jobs SET {JobRows.EndRunSet(JobEnd.Completed)} WHERE {JobRows.Fence} RETURNING {JobRows.Columns}),
            a AS ({JobRows.EndAttempt} AND EXISTS (SELECT 1 FROM j)),
            next AS (
                SELECT id FROM jobs WHERE {JobRows.Claimable} AND EXISTS (SELECT 1 FROM j)
                ORDER BY priority DESC, run_after, id LIMIT @count FOR UPDATE SKIP LOCKED
            ), taken AS (
                UPDATE jobs SET {JobRows.ClaimSet} FROM next WHERE jobs.id = next.id RETURNING jobs.*
            ), attempts AS (
                INSERT INTO job_attempts(job_id, run, worker, started_at) SELECT id, runs, @worker, @now FROM taken
            )
            SELECT j.*, 0 AS claimed, (CASE WHEN j.content_key IS NOT NULL THEN pg_notify('{Channel}', j.id::text) END)::text FROM j
            UNION ALL
            SELECT {JobRows.Columns}, 1, NULL FROM taken
            """, [.. JobRows.EndParameters(lease, now, null, null, final, message, null, delivery),
                ("worker", worker), ("expires", now + (long)leaseDuration.TotalMilliseconds), ("count", count), .. transfer]);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var ended = false;
        var claimed = new List<JobRecord>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (r.GetInt32(r.FieldCount - 2) == 0) ended = true;
            else claimed.Add(JobRows.Read(r));
        }
        return ended ? claimed : throw new JobFencedException(lease);
    }

    /// <summary>PostgreSQL records a one-file job's transfer end in the statement that ends the job.</summary>
    public bool RecordsTransferEnds => true;

    /// <summary>In one transaction under a transaction-level advisory lock on the key's hash, so that two workers claiming
    /// the same content take turns (READ COMMITTED alone would let both see no holder).</summary>
    public Task<ContentClaim> ClaimContentAsync(JobLease lease, string contentKey, CancellationToken cancellationToken = default) =>
        InTransactionAsync(async (connection, tx) =>
        {
            await ExecAsync(connection, tx, "SELECT pg_advisory_xact_lock(@class, hashtext(@key))", cancellationToken, ("class", ContentLockClass), ("key", contentKey)).ConfigureAwait(false);
            await using (var holder = Cmd(connection, tx, JobRows.ContentHolder, ("key", contentKey), ("id", lease.Id)))
            {
                if (await holder.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long other)
                {
                    var phase = JobRows.WaitingPhase(other);
                    var now = Now();
                    if (await ExecAsync(connection, tx, JobRows.WaitForContent, cancellationToken, ("phase", phase), ("key", contentKey), ("now", now),
                            ("id", lease.Id), ("epoch", lease.Epoch)).ConfigureAwait(false) == 0)
                        throw new JobFencedException(lease);
                    await ExecAsync(connection, tx, JobRows.EndAttemptWaiting, cancellationToken, ("now", now), ("phase", phase), ("id", lease.Id), ("run", lease.Run))
                        .ConfigureAwait(false);
                    return new ContentClaim(other, null, null);
                }
            }
            if (await ExecAsync(connection, tx, JobRows.TakeContent, cancellationToken, ("key", contentKey), ("id", lease.Id), ("epoch", lease.Epoch)).ConfigureAwait(false) == 0)
                throw new JobFencedException(lease);
            await using var delivered = Cmd(connection, tx, JobRows.DeliveredContent, ("key", contentKey));
            await using var r = await delivered.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? new ContentClaim(null, r.GetInt64(0), r.GetString(1)) : new ContentClaim(null, null, null);
        }, cancellationToken);

    // The two-int advisory key space: class 'LQ' for content keys, apart from the migration's 'LP'.
    private const int ContentLockClass = 0x4C51;

    public async Task<bool> ClaimTickAsync(string name, DateTimeOffset tick, DateTimeOffset nextTick, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.AdvanceSchedule, ("next_tick", nextTick.ToUnixTimeMilliseconds()), ("tick", tick.ToUnixTimeMilliseconds()), ("name", name));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>The schedule's file record and the job's insert are one statement: a second worker's insert of the same
    /// file conflicts on the primary key (waiting for the first to commit) and queues nothing.</summary>
    public async Task<JobRecord?> EnqueueScheduledFileAsync(string schedule, string fileKey, NewJob job, CancellationToken cancellationToken = default)
    {
        var insert = JobRows.Insert.Replace("VALUES (", "SELECT ", StringComparison.Ordinal)
            .Replace("@schedule, @now, @now)", "@schedule, @now, @now FROM f WHERE true", StringComparison.Ordinal);
        await using var cmd = Command($"""
            WITH f AS ({JobRows.InsertScheduleFile} RETURNING schedule), j AS ({insert})
            SELECT j.*, pg_notify('{Channel}', j.id::text) FROM j
            """, [.. JobRows.InsertParameters(job with { Schedule = schedule }, Now()), ("file_key", fileKey)]);
        return await ReadJobAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    public Task<JobRecord> FailAsync(JobLease lease, string error, DateTimeOffset retryAt, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Failed, JobRows.EndParameters(lease, Now(), Location.RedactUrls(error), retryAt.ToUnixTimeMilliseconds(), final, null, null), "", cancellationToken);

    public Task WaitForQuotaAsync(JobLease lease, DateTimeOffset until, string reason, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.QuotaWait, JobRows.EndParameters(lease, Now(), reason, until.ToUnixTimeMilliseconds(), final, null, "quota wait"), """
            , deferred AS (UPDATE jobs SET run_after = @retry_at, phase = @phase
                           WHERE state = 'pending' AND quota_scope = (SELECT quota_scope FROM j) AND run_after < @retry_at AND id <> @id)
            """, cancellationToken);

    public Task ReleaseAsync(JobLease lease, string reason, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Released, JobRows.EndParameters(lease, Now(), reason, null, final, null, null), "", cancellationToken);

    public Task CancelledAsync(JobLease lease, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Cancelled, JobRows.EndParameters(lease, Now(), "cancelled", null, final, null, null), "", cancellationToken);

    /// <summary>One statement: the fenced end of the run, its attempt entry, <paramref name="more"/> (further WITH
    /// clauses that may read <c>j</c>), and a NOTIFY when the job is pending again.</summary>
    private async Task<JobRecord> EndRunAsync(JobLease lease, JobEnd end, (string, object?)[] parameters, string more, CancellationToken cancellationToken)
    {
        await using var cmd = Command($"""
            WITH j AS (UPDATE jobs SET {JobRows.EndRunSet(end)} WHERE {JobRows.Fence} RETURNING {JobRows.Columns}),
            a AS ({JobRows.EndAttempt} AND EXISTS (SELECT 1 FROM j)){more}
            SELECT j.*, CASE WHEN j.state = 'pending' OR j.content_key IS NOT NULL THEN pg_notify('{Channel}', j.id::text) END FROM j
            """, parameters);
        return await ReadJobAsync(cmd, cancellationToken).ConfigureAwait(false) ?? throw new JobFencedException(lease);
    }

    public Task<JobRecord> CancelAsync(long id, CancellationToken cancellationToken = default) => ChangeAsync(id, JobRows.Cancel, "cancel", cancellationToken);

    public Task<JobRecord> RetryAsync(long id, CancellationToken cancellationToken = default) => ChangeAsync(id, JobRows.Retry, "retry", cancellationToken);

    private async Task<JobRecord> ChangeAsync(long id, string sql, string action, CancellationToken cancellationToken)
    {
        try
        {
            await using var cmd = Command($"WITH j AS ({sql}) SELECT j.*, pg_notify('{Channel}', j.id::text) FROM j", ("now", Now()), ("id", id));
            if (await ReadJobAsync(cmd, cancellationToken).ConfigureAwait(false) is { } changed) return changed;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"job {id} cannot be retried: another job with its unique key is queued or running");
        }
        throw JobRows.Refused(id, await GetJobAsync(id, cancellationToken).ConfigureAwait(false), action);
    }

    public async Task<int> RescueExpiredAsync(CancellationToken cancellationToken = default)
    {
        await using var cmd = Command($"""
            WITH r AS (UPDATE jobs SET {JobRows.RescueSet} WHERE {JobRows.RescueWhere} RETURNING id, runs, state),
            a AS (UPDATE job_attempts SET ended_at = @now, error = 'lease expired' FROM r
                  WHERE job_attempts.job_id = r.id AND job_attempts.run = r.runs AND job_attempts.ended_at IS NULL)
            SELECT COUNT(*), COUNT(CASE WHEN state = 'pending' THEN pg_notify('{Channel}', id::text)::text END) FROM r
            """, ("now", Now()));
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
    }

    public async Task RecordWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken = default)
    {
        if (worker.State == "stopped")
        {
            await ExecAsync("DELETE FROM job_workers WHERE name = @name", cancellationToken, ("name", worker.Name)).ConfigureAwait(false);
            return;
        }
        await ExecAsync(JobRows.UpsertWorker, cancellationToken, ("name", worker.Name), ("host", worker.Host), ("pid", worker.ProcessId),
            ("concurrency", worker.Concurrency), ("running", worker.Running), ("state", worker.State),
            ("started", worker.StartedAt.ToUnixTimeMilliseconds()), ("now", Now())).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<WorkerRecord> ListWorkersAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.SelectWorkers);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return JobRows.ReadWorker(r);
    }

    public async Task AddScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(JobRows.InsertSchedule, ("name", schedule.Name), ("cron", schedule.Cron), ("tz", schedule.TimeZone),
            ("source", schedule.Source), ("destination", schedule.Destination), ("options", schedule.Options), ("user", schedule.User),
            ("priority", schedule.Priority), ("max_attempts", schedule.MaxAttempts), ("next_tick", schedule.NextTick.ToUnixTimeMilliseconds()), ("now", Now()));
        if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"a schedule named '{schedule.Name}' exists (lp schedules remove {schedule.Name} first)");
    }

    public async Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("SELECT " + JobRows.ScheduleColumns + " FROM job_schedules ORDER BY name");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var schedules = new List<ScheduleRecord>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) schedules.Add(JobRows.ReadSchedule(r));
        return schedules;
    }

    public async Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("DELETE FROM job_schedules WHERE name = @name", ("name", name));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>The compare-and-set on the schedule's next tick and the job's insert are one statement: the worker
    /// whose UPDATE matched queues the job; another, blocked on the row, re-checks the WHERE after the first commits,
    /// finds the next tick moved, and queues nothing.</summary>
    public async Task<JobRecord?> ClaimScheduleTickAsync(string name, DateTimeOffset tick, DateTimeOffset nextTick, NewJob job, CancellationToken cancellationToken = default)
    {
        var insert = JobRows.Insert.Replace("VALUES (", "SELECT ", StringComparison.Ordinal)
            .Replace("@schedule, @now, @now)", "@schedule, @now, @now FROM s WHERE true", StringComparison.Ordinal);
        await using var cmd = Command($"""
            WITH s AS ({JobRows.AdvanceSchedule} RETURNING name), j AS ({insert})
            SELECT j.*, pg_notify('{Channel}', j.id::text) FROM j
            """, [.. JobRows.InsertParameters(job, Now()), ("next_tick", nextTick.ToUnixTimeMilliseconds()), ("tick", tick.ToUnixTimeMilliseconds()), ("name", name)]);
        return await ReadJobAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>LISTEN on a connection of its own (opened on the first call and kept), then wait for a notification
    /// or the timeout. One caller at a time listens; another just waits out its timeout. A broken connection is
    /// dropped and the wait falls back to the timeout: polling is always the floor.</summary>
    public async Task WaitForJobsAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (!await _listenGate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            await Task.Delay(timeout, _time, cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            if (_listener is null)
            {
                var connection = await _lockSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                _listener = connection;
            }
            await _listener.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException)
        {
            if (_listener is { } broken) await broken.DisposeAsync().ConfigureAwait(false);
            _listener = null;
            await Task.Delay(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _listenGate.Release();
        }
    }

    private async Task CloseListenerAsync()
    {
        await _listenGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_listener is { } listener) await listener.DisposeAsync().ConfigureAwait(false);
            _listener = null;
        }
        finally
        {
            _listenGate.Release();
        }
    }

    private static async Task<JobRecord?> ReadJobAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var r = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? JobRows.Read(r) : null;
    }
}
