using LoadPipe.Core.Manifest;

namespace LoadPipe.Core.Tests.Support;

/// <summary>
/// A manifest whose chunk confirmations can be held back on their way (<see cref="Holding"/>), as a process's writes
/// are when it is cut off from the database, and delivered later, under the lease they were sent with
/// (<see cref="DeliverAsync"/>). With <see cref="DeliverAfterLockedFind"/> they land right after the next
/// <see cref="FindTransferAsync"/> made through this manifest by the holder of that transfer's lock has read the record:
/// between a run's look at the record under the lock and its next step.
/// <see cref="BatchCompletionsBeforeCutOff"/> fails the group commit's records after some. Everything else is the inner
/// manifest's.
/// </summary>
public sealed class DelayedConfirmations(IManifest inner) : IManifest
{
    private readonly List<(TransferLease Lease, ChunkRecord Chunk, string? SinkState)> _held = [];
    private readonly HashSet<TransferKey> _locked = [];

    public bool Holding { get; set; }

    public bool DeliverAfterLockedFind { get; set; }

    public int Held => _held.Count;

    /// <summary>Sends the held confirmations to the inner manifest, in order, each under its own lease.</summary>
    public async Task DeliverAsync()
    {
        foreach (var (lease, chunk, state) in _held) await inner.ConfirmChunkAsync(lease, chunk, state);
        _held.Clear();
    }

    public string Description => inner.Description;

    public async Task<TransferRecord?> FindTransferAsync(TransferKey key, CancellationToken cancellationToken = default)
    {
        var record = await inner.FindTransferAsync(key, cancellationToken);
        if (DeliverAfterLockedFind && _locked.Contains(key))
        {
            DeliverAfterLockedFind = false;
            await DeliverAsync();
        }
        return record;
    }

    public Task ConfirmChunkAsync(TransferLease lease, ChunkRecord chunk, string? sinkState, CancellationToken cancellationToken = default)
    {
        if (!Holding) return inner.ConfirmChunkAsync(lease, chunk, sinkState, cancellationToken);
        _held.Add((lease, chunk, sinkState));
        return Task.CompletedTask;
    }

    /// <summary>Batch completions (<see cref="CompleteTransfersAsync"/>) let through before the manifest is cut off for
    /// them: each later one fails as a database that went away does (a <see cref="Microsoft.Data.Sqlite.SqliteException"/>).</summary>
    public int? BatchCompletionsBeforeCutOff { get; set; }

    private int _batchCompletions;

    public Task CompleteTransfersAsync(long sessionId, IReadOnlyCollection<CompletedTransfer> transfers, CancellationToken cancellationToken = default) =>
        Interlocked.Increment(ref _batchCompletions) > BatchCompletionsBeforeCutOff
            ? throw new Microsoft.Data.Sqlite.SqliteException("the manifest is cut off (test)", 10)
            : inner.CompleteTransfersAsync(sessionId, transfers, cancellationToken);
    public Task<long> BeginSessionAsync(SessionStart start, CancellationToken cancellationToken = default) => inner.BeginSessionAsync(start, cancellationToken);
    public Task EndSessionAsync(long sessionId, SessionSummary summary, CancellationToken cancellationToken = default) => inner.EndSessionAsync(sessionId, summary, cancellationToken);
    public Task RecordSessionCountsAsync(long sessionId, SessionCounts counts, CancellationToken cancellationToken = default) => inner.RecordSessionCountsAsync(sessionId, counts, cancellationToken);
    public async Task<IAsyncDisposable?> TryLockAsync(TransferKey key, CancellationToken cancellationToken = default)
    {
        var held = await inner.TryLockAsync(key, cancellationToken);
        if (held is null) return null;
        _locked.Add(key);
        return new LockHandle(held, () => _locked.Remove(key));
    }

    private sealed class LockHandle(IAsyncDisposable inner, Action released) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            released();
            await inner.DisposeAsync();
        }
    }

    public Task<IReadOnlyDictionary<TransferKey, TransferRecord>> FindTransfersAsync(IReadOnlyCollection<TransferKey> keys, CancellationToken cancellationToken = default) =>
        inner.FindTransfersAsync(keys, cancellationToken);
    public Task AddPendingAsync(long sessionId, IReadOnlyCollection<(TransferKey Key, SourceIdentity Source)> files, CancellationToken cancellationToken = default) =>
        inner.AddPendingAsync(sessionId, files, cancellationToken);
    public Task<TransferRecord> StartTransferAsync(TransferKey key, long sessionId, SourceIdentity source, CancellationToken cancellationToken = default) =>
        inner.StartTransferAsync(key, sessionId, source, cancellationToken);
    public Task<TransferLease> AttachTransferAsync(long transferId, long sessionId, CancellationToken cancellationToken = default) =>
        inner.AttachTransferAsync(transferId, sessionId, cancellationToken);
    public Task SetSinkStateAsync(TransferLease lease, string? sinkState, CancellationToken cancellationToken = default) => inner.SetSinkStateAsync(lease, sinkState, cancellationToken);
    public Task<IReadOnlyList<ChunkRecord>> GetChunksAsync(long transferId, CancellationToken cancellationToken = default) => inner.GetChunksAsync(transferId, cancellationToken);
    public Task DropChunksAsync(TransferLease lease, int fromSequence, CancellationToken cancellationToken = default) => inner.DropChunksAsync(lease, fromSequence, cancellationToken);
    public Task CompleteTransferAsync(TransferLease lease, TransferCompletion completion, CancellationToken cancellationToken = default) =>
        inner.CompleteTransferAsync(lease, completion, cancellationToken);
    public Task FailTransferAsync(TransferLease lease, string error, CancellationToken cancellationToken = default) => inner.FailTransferAsync(lease, error, cancellationToken);
    public IAsyncEnumerable<SessionRecord> ListSessionsAsync(int limit, CancellationToken cancellationToken = default) => inner.ListSessionsAsync(limit, cancellationToken);
    public Task<SessionRecord?> GetSessionAsync(long sessionId, CancellationToken cancellationToken = default) => inner.GetSessionAsync(sessionId, cancellationToken);
    public IAsyncEnumerable<TransferRecord> ListTransfersAsync(long? sessionId, CancellationToken cancellationToken = default) => inner.ListTransfersAsync(sessionId, cancellationToken);
    public IAsyncEnumerable<ProjectRecord> ListProjectsAsync(CancellationToken cancellationToken = default) => inner.ListProjectsAsync(cancellationToken);
    public Task<string?> GetConfigSnapshotAsync(long sessionId, CancellationToken cancellationToken = default) => inner.GetConfigSnapshotAsync(sessionId, cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
