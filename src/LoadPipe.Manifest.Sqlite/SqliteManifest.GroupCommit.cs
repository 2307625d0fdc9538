using Microsoft.Data.Sqlite;

namespace LoadPipe.Manifest.Sqlite;

/// <summary>
/// Group commit of the durable writes (<see cref="DurablyAsync"/>), committed with <c>synchronous=FULL</c>: in WAL mode
/// NORMAL syncs the log only at checkpoints, so a power loss may take the last commits, which the pull path can afford
/// (it sends those chunks again) and the push entry cannot (it reported them to a client that will not send them
/// again). A synced commit costs one fsync of the log, which
/// concurrent callers (16 uploads completing at once) would otherwise pay one after the other, since SQLite has one
/// writer. The writes that arrive while a batch is being committed wait together, and the next batch runs them all in
/// one transaction, each inside a savepoint of its own, committed once with synchronous=FULL.
/// </summary>
/// <remarks>
/// The contract each caller keeps, as with a transaction of its own: its write is durable when its call returns; when
/// its call throws, nothing of its write remains. A write that throws is rolled back to its savepoint and fails alone;
/// the others of its batch go on. A batch whose commit fails (or whose transaction SQLite rolled back whole, as it does
/// on a full disk or an I/O error) fails every caller in it, and none of their writes remains. A caller cancelled
/// before its write ran fails with nothing written; once its write ran, it waits for its batch's commit.
/// </remarks>
public sealed partial class SqliteManifest
{
    private readonly object _commitLock = new();
    private List<DurableWrite> _commitWaiting = [];
    private bool _committing;

    /// <summary>How many batches the group commit ran, and how many writes they held (tests read them).</summary>
    internal long CommitBatches, CommitWrites;

    /// <summary>One durable write transaction, committed in the next batch: see the class remarks.</summary>
    private Task<T> DurablyAsync<T>(Func<Pooled, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = new DurableWrite<T>(work, cancellationToken);
        bool start;
        lock (_commitLock)
        {
            _commitWaiting.Add(write);
            start = !_committing;
            _committing = true;
        }
        if (start) _ = Task.Run(CommitWaitingAsync, CancellationToken.None);
        return write.Task;
    }

    /// <summary>Commits batches until none waits. Never throws: every write of a batch ends, with its result or an
    /// exception.</summary>
    private async Task CommitWaitingAsync()
    {
        while (true)
        {
            List<DurableWrite> batch;
            lock (_commitLock)
            {
                if (_commitWaiting.Count == 0)
                {
                    _committing = false;
                    return;
                }
                batch = _commitWaiting;
                _commitWaiting = [];
            }
            try
            {
                await CommitBatchAsync(batch).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                foreach (var write in batch) write.Fail(e);
            }
        }
    }

    private const string WriteSavepoint = "lp_write";

    private async Task CommitBatchAsync(List<DurableWrite> batch)
    {
        Interlocked.Increment(ref CommitBatches);
        Interlocked.Add(ref CommitWrites, batch.Count);
        await using var c = await OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
        await c.Command("PRAGMA synchronous=FULL").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await using var tx = c.Begin();
            var ran = new List<DurableWrite>(batch.Count);
            foreach (var write in batch)
            {
                if (write.Cancellation.IsCancellationRequested)
                {
                    write.Fail(new OperationCanceledException(write.Cancellation));
                    continue;
                }
                tx.Save(WriteSavepoint);
                try
                {
                    await write.RunAsync(c, tx).ConfigureAwait(false);
                    tx.Release(WriteSavepoint);
                    ran.Add(write);
                }
                catch (Exception e)
                {
                    write.Fail(e);
                    // SQLite rolls a whole transaction back on some errors (SQLITE_FULL, SQLITE_IOERR, ...): then the
                    // writes that ran before are gone too, and fail with this one's reason.
                    if (SQLitePCL.raw.sqlite3_get_autocommit(c.Connection.Handle) != 0) throw;
                    tx.Rollback(WriteSavepoint);
                    tx.Release(WriteSavepoint);
                }
            }
            if (ran.Count > 0) await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            foreach (var write in ran) write.Succeed();
        }
        finally
        {
            await c.Command("PRAGMA synchronous=NORMAL").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private abstract class DurableWrite(CancellationToken cancellation)
    {
        public CancellationToken Cancellation { get; } = cancellation;

        public abstract Task RunAsync(Pooled connection, SqliteTransaction transaction);

        /// <summary>Ends the caller's wait with the write's result (once committed).</summary>
        public abstract void Succeed();

        /// <summary>Ends the caller's wait with <paramref name="error"/>, unless it ended already.</summary>
        public abstract void Fail(Exception error);
    }

    private sealed class DurableWrite<T>(Func<Pooled, SqliteTransaction, Task<T>> work, CancellationToken cancellation) : DurableWrite(cancellation)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _done.Task;

        public override async Task RunAsync(Pooled connection, SqliteTransaction transaction) =>
            _result = await work(connection, transaction).ConfigureAwait(false);

        public override void Succeed() => _done.TrySetResult(_result!);

        public override void Fail(Exception error)
        {
            if (error is OperationCanceledException && Cancellation.IsCancellationRequested) _done.TrySetCanceled(Cancellation);
            else _done.TrySetException(error);
        }
    }
}
