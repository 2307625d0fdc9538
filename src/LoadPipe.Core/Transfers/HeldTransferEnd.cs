using LoadPipe.Core.Manifest;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// The end of a one-file run's transfer, held back for its caller to record together with its own (a worker records it
/// in the statement that ends the job: <see cref="Jobs.IJobQueue.CompleteAndClaimAsync"/>). Given as
/// <see cref="TransferOptions.HoldEnd"/>: once the file is committed (durable), the engine records nothing of its end
/// and keeps the transfer's locks, and hands both over here. Until its end is recorded, the transfer stays locked, so
/// that no other process takes it between the commit and the record. <see cref="DisposeAsync"/> records the end when
/// the caller did not (<see cref="Recorded"/>), then lets the locks go.
/// </summary>
public sealed class HeldTransferEnd : IAsyncDisposable
{
    private IManifest? _manifest;
    private readonly List<IAsyncDisposable> _locks = [];
    private int _disposed;
    private bool _locksTaken;

    /// <summary>The transfer and how it ended, once the engine held its end back; null until then.</summary>
    public (TransferLease Lease, TransferCompletion Completion)? End { get; private set; }

    /// <summary>True once the caller recorded <see cref="End"/> (or found it recorded).</summary>
    public bool Recorded { get; private set; }

    /// <summary>Takes the end of the file the engine just committed, once: false when one is held already.</summary>
    internal bool TryHold(IManifest manifest, TransferLease lease, TransferCompletion completion)
    {
        if (End is not null) return false;
        _manifest = manifest;
        End = (lease, completion);
        return true;
    }

    /// <summary>An end is held and its transfer's locks are still the engine's.</summary>
    internal bool AwaitsLocks => End is not null && !_locksTaken;

    /// <summary>The transfer's locks, from the engine, once the run of the held file returned.</summary>
    internal void TakeLocks(IAsyncDisposable? first, IAsyncDisposable? second)
    {
        _locksTaken = true;
        if (first is not null) _locks.Add(first);
        if (second is not null) _locks.Add(second);
    }

    /// <summary>The caller recorded <see cref="End"/>.</summary>
    public void MarkRecorded() => Recorded = true;

    /// <summary>Records the held end when the caller did not (best effort: see the catch), then lets the locks go, the
    /// destination's first.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            if (End is { } end && !Recorded && _manifest is { } manifest)
            {
                try { await manifest.CompleteTransferAsync(end.Lease, end.Completion, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (e is TransferFencedException or System.Data.Common.DbException or IOException or TimeoutException)
                {
                    // Fenced: the record is another process's now. Unreachable: as after a crash between the commit and
                    // the record, the next run finds the file at the destination or sends it again.
                }
            }
        }
        finally
        {
            for (var i = _locks.Count - 1; i >= 0; i--) await _locks[i].DisposeAsync().ConfigureAwait(false);
        }
    }
}
