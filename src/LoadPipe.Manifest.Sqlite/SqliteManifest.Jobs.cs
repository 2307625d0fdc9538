using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using Microsoft.Data.Sqlite;

namespace LoadPipe.Manifest.Sqlite;

/// <summary>
/// The job queue (<see cref="IJobQueue"/>) for the processes of one machine: the shared statements of
/// <see cref="JobRows"/>, each transition in one immediate transaction, which holds SQLite's one write lock from its
/// start, so two workers never claim one job (they take turns). No NOTIFY: idle workers poll.
/// </summary>
public sealed partial class SqliteManifest : IJobQueue
{
    public async Task<(JobRecord Job, bool Created)> EnqueueAsync(NewJob job, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var created = await ReadJobAsync(c.Command(JobRows.Insert, tx, At(JobRows.InsertParameters(job, Now()))), cancellationToken).ConfigureAwait(false);
        var result = created is not null ? (created, true)
            : (await ReadJobAsync(c.Command(JobRows.SelectActiveByKey, tx, ("@unique_key", job.UniqueKey)), cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("the job's unique key conflicted but no active job has it"), false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async Task<JobRecord?> GetJobAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadJobAsync(c.Command(JobRows.Select + " WHERE id = @id", null, ("@id", id)), cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<JobRecord> ListJobsAsync(JobQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (sql, parameters) = JobRows.List(query);
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(sql, null, At(parameters)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return JobRows.Read(r);
    }

    public async Task<IReadOnlyList<JobAttempt>> ListAttemptsAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(JobRows.SelectAttempts, null, ("@id", id)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var attempts = new List<JobAttempt>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) attempts.Add(JobRows.ReadAttempt(r));
        return attempts;
    }

    public async Task<IReadOnlyList<JobRecord>> ClaimAsync(string worker, int count, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        var now = Now();
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var claimed = new List<JobRecord>();
        await using (var r = await c.Command($"""
            UPDATE jobs SET {JobRows.ClaimSet}
            WHERE id IN (SELECT id FROM jobs WHERE {JobRows.Claimable} ORDER BY priority DESC, run_after, id LIMIT @count)
            RETURNING {JobRows.Columns}
            """, tx, ("@worker", worker), ("@expires", now + (long)leaseDuration.TotalMilliseconds), ("@now", now), ("@count", count))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) claimed.Add(JobRows.Read(r));
        }
        foreach (var job in claimed)
            await c.Command(JobRows.InsertAttempt, tx, ("@id", job.Id), ("@run", job.Runs), ("@worker", worker), ("@now", now))
                .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return [.. claimed.OrderByDescending(j => j.Priority).ThenBy(j => j.RunAfter).ThenBy(j => j.Id)];
    }

    public async Task<JobSignal> HeartbeatAsync(JobLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var cancel = await c.Command(JobRows.Heartbeat, null, ("@expires", Now() + (long)leaseDuration.TotalMilliseconds), ("@id", lease.Id), ("@epoch", lease.Epoch))
            .ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return cancel is null or DBNull ? throw new JobFencedException(lease) : new JobSignal(Convert.ToInt64(cancel) != 0);
    }

    public async Task<JobSignal> ReportProgressAsync(JobLease lease, JobProgress progress, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var cancel = await c.Command(JobRows.Progress, tx, ("@phase", progress.Phase), ("@done", progress.BytesDone), ("@total", progress.BytesTotal),
                ("@message", progress.Message), ("@session", progress.SessionId), ("@now", Now()), ("@id", lease.Id), ("@epoch", lease.Epoch))
            .ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        if (cancel is null or DBNull) throw new JobFencedException(lease);
        await c.Command(JobRows.AttemptProgress, tx, ("@sent", progress.BytesSent), ("@resumed", progress.BytesResumed), ("@session", progress.SessionId),
            ("@id", lease.Id), ("@run", lease.Run)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new JobSignal(Convert.ToInt64(cancel) != 0);
    }

    public async Task<IReadOnlyList<(long Id, long Epoch, bool CancelRequested)>> HeldJobsAsync(string worker, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(JobRows.Held, null, ("@worker", worker)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var held = new List<(long, long, bool)>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) held.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt64(2) != 0));
        return held;
    }

    public Task CompleteAsync(JobLease lease, JobProgress final, string? message, JobDelivery? delivery = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Completed, JobRows.EndParameters(lease, Now(), null, null, final, message, null, delivery), null, cancellationToken);

    public async Task<ContentClaim> ClaimContentAsync(JobLease lease, string contentKey, CancellationToken cancellationToken = default)
    {
        // The immediate transaction holds the one write lock: no other claim of the key runs between the read and the write.
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        ContentClaim claim;
        if (await c.Command(JobRows.ContentHolder, tx, ("@key", contentKey), ("@id", lease.Id)).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long other)
        {
            var phase = JobRows.WaitingPhase(other);
            if (await c.Command(JobRows.WaitForContent, tx, ("@phase", phase), ("@key", contentKey), ("@now", Now()), ("@id", lease.Id), ("@epoch", lease.Epoch))
                    .ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                throw new JobFencedException(lease);
            await c.Command(JobRows.EndAttemptWaiting, tx, ("@now", Now()), ("@phase", phase), ("@id", lease.Id), ("@run", lease.Run))
                .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            claim = new ContentClaim(other, null, null);
        }
        else
        {
            if (await c.Command(JobRows.TakeContent, tx, ("@key", contentKey), ("@id", lease.Id), ("@epoch", lease.Epoch)).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                throw new JobFencedException(lease);
            await using var r = await c.Command(JobRows.DeliveredContent, tx, ("@key", contentKey)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            claim = await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? new ContentClaim(null, r.GetInt64(0), r.GetString(1)) : new ContentClaim(null, null, null);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return claim;
    }

    public async Task<JobRecord> FailAsync(JobLease lease, string error, DateTimeOffset retryAt, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        await EndRunAsync(lease, JobEnd.Failed, JobRows.EndParameters(lease, Now(), Core.Locations.Location.RedactUrls(error), retryAt.ToUnixTimeMilliseconds(), final, null, null),
            null, cancellationToken).ConfigureAwait(false);

    public async Task WaitForQuotaAsync(JobLease lease, DateTimeOffset until, string reason, JobProgress? final = null, CancellationToken cancellationToken = default)
    {
        var parameters = JobRows.EndParameters(lease, Now(), reason, until.ToUnixTimeMilliseconds(), final, null, "quota wait");
        await EndRunAsync(lease, JobEnd.QuotaWait, parameters, async (c, tx, job) =>
        {
            if (job.QuotaScope is null) return;
            await c.Command(JobRows.DeferQuotaScope, tx, ("@retry_at", until.ToUnixTimeMilliseconds()), ("@phase", "quota wait"), ("@scope", job.QuotaScope))
                .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task ReleaseAsync(JobLease lease, string reason, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Released, JobRows.EndParameters(lease, Now(), reason, null, final, null, null), null, cancellationToken);

    public Task CancelledAsync(JobLease lease, JobProgress? final = null, CancellationToken cancellationToken = default) =>
        EndRunAsync(lease, JobEnd.Cancelled, JobRows.EndParameters(lease, Now(), "cancelled", null, final, null, null), null, cancellationToken);

    /// <summary>One fenced end of a run, its attempt entry and <paramref name="then"/> in one transaction.</summary>
    private async Task<JobRecord> EndRunAsync(JobLease lease, JobEnd end, (string, object?)[] parameters,
        Func<Pooled, SqliteTransaction, JobRecord, Task>? then, CancellationToken cancellationToken)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var all = At(parameters);
        var job = await ReadJobAsync(c.Command($"UPDATE jobs SET {JobRows.EndRunSet(end)} WHERE {JobRows.Fence} RETURNING {JobRows.Columns}", tx,
            [.. all.Where(p => p.Item1 is not ("@run" or "@attempt_error" or "@sent" or "@resumed"))]), cancellationToken).ConfigureAwait(false)
            ?? throw new JobFencedException(lease);
        await c.Command(JobRows.EndAttempt, tx, [.. all.Where(p => p.Item1 is "@now" or "@attempt_error" or "@sent" or "@resumed" or "@session" or "@id" or "@run")])
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (then is not null) await then(c, tx, job).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return job;
    }

    public Task<JobRecord> CancelAsync(long id, CancellationToken cancellationToken = default) => ChangeAsync(id, JobRows.Cancel, "cancel", cancellationToken);

    public Task<JobRecord> RetryAsync(long id, CancellationToken cancellationToken = default) => ChangeAsync(id, JobRows.Retry, "retry", cancellationToken);

    private async Task<JobRecord> ChangeAsync(long id, string sql, string action, CancellationToken cancellationToken)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        JobRecord? changed;
        try
        {
            changed = await ReadJobAsync(c.Command(sql, tx, ("@now", Now()), ("@id", id)), cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"job {id} cannot be retried: another job with its unique key is queued or running");
        }
        var result = changed ?? throw JobRows.Refused(id, await ReadJobAsync(c.Command(JobRows.Select + " WHERE id = @id", tx, ("@id", id)), cancellationToken).ConfigureAwait(false), action);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async Task<int> RescueExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = Now();
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var rescued = new List<(long, long)>();
        await using (var r = await c.Command($"UPDATE jobs SET {JobRows.RescueSet} WHERE {JobRows.RescueWhere} RETURNING id, runs", tx, ("@now", now))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) rescued.Add((r.GetInt64(0), r.GetInt64(1)));
        }
        foreach (var (id, run) in rescued)
            await c.Command("UPDATE job_attempts SET ended_at = @now, error = 'lease expired' WHERE job_id = @id AND run = @run AND ended_at IS NULL", tx,
                ("@now", now), ("@id", id), ("@run", run)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rescued.Count;
    }

    public async Task RecordWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken = default)
    {
        if (worker.State == "stopped")
        {
            await ExecAsync("DELETE FROM job_workers WHERE name = @name", cancellationToken, ("@name", worker.Name)).ConfigureAwait(false);
            return;
        }
        await ExecAsync(JobRows.UpsertWorker, cancellationToken, ("@name", worker.Name), ("@host", worker.Host), ("@pid", worker.ProcessId),
            ("@concurrency", worker.Concurrency), ("@running", worker.Running), ("@state", worker.State),
            ("@started", worker.StartedAt.ToUnixTimeMilliseconds()), ("@now", Now())).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<WorkerRecord> ListWorkersAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(JobRows.SelectWorkers).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) yield return JobRows.ReadWorker(r);
    }

    public async Task AddScheduleAsync(ScheduleRecord schedule, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var added = await c.Command(JobRows.InsertSchedule, null, ("@name", schedule.Name), ("@cron", schedule.Cron), ("@tz", schedule.TimeZone),
                ("@source", schedule.Source), ("@destination", schedule.Destination), ("@options", schedule.Options), ("@user", schedule.User),
                ("@priority", schedule.Priority), ("@max_attempts", schedule.MaxAttempts), ("@next_tick", schedule.NextTick.ToUnixTimeMilliseconds()), ("@now", Now()))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (added == 0) throw new LoadPipeException(ErrorKind.Usage, $"a schedule named '{schedule.Name}' exists (lp schedules remove {schedule.Name} first)");
    }

    public async Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command("SELECT " + JobRows.ScheduleColumns + " FROM job_schedules ORDER BY name").ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var schedules = new List<ScheduleRecord>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) schedules.Add(JobRows.ReadSchedule(r));
        return schedules;
    }

    public async Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await c.Command("DELETE FROM job_schedules WHERE name = @name", null, ("@name", name)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<JobRecord?> ClaimScheduleTickAsync(string name, DateTimeOffset tick, DateTimeOffset nextTick, NewJob job, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var advanced = await c.Command(JobRows.AdvanceSchedule, tx, ("@next_tick", nextTick.ToUnixTimeMilliseconds()), ("@tick", tick.ToUnixTimeMilliseconds()), ("@name", name))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (advanced == 0) return null;
        var created = await ReadJobAsync(c.Command(JobRows.Insert, tx, At(JobRows.InsertParameters(job, Now()))), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return created;
    }

    public async Task<bool> ClaimTickAsync(string name, DateTimeOffset tick, DateTimeOffset nextTick, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await c.Command(JobRows.AdvanceSchedule, null, ("@next_tick", nextTick.ToUnixTimeMilliseconds()), ("@tick", tick.ToUnixTimeMilliseconds()), ("@name", name))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<JobRecord?> EnqueueScheduledFileAsync(string schedule, string fileKey, NewJob job, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var now = Now();
        if (await c.Command(JobRows.InsertScheduleFile, tx, ("@schedule", schedule), ("@file_key", fileKey), ("@now", now)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            return null;
        var created = await ReadJobAsync(c.Command(JobRows.Insert, tx, At(JobRows.InsertParameters(job, now))), cancellationToken).ConfigureAwait(false)
            ?? await ReadJobAsync(c.Command(JobRows.SelectActiveByKey, tx, ("@unique_key", job.UniqueKey)), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return created;
    }

    public Task WaitForJobsAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => Task.Delay(timeout, _time, cancellationToken);

    private static async Task<JobRecord?> ReadJobAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var r = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? JobRows.Read(r) : null;
    }

    /// <summary>The shared statements' parameters (<see cref="JobRows"/>) under the names SQLite binds them by.</summary>
    private static (string, object?)[] At((string Name, object? Value)[] parameters) => [.. parameters.Select(p => ("@" + p.Name, p.Value))];
}
