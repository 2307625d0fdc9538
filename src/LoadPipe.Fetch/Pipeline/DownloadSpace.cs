namespace LoadPipe.Fetch.Pipeline;

/// <summary>
/// The room files may take in the cache while they wait for processing (--cache-limit). A download announces its size
/// before its first byte and waits until the files already there leave room for it; its room is given back when the
/// file is deleted or moved to --save. A file larger than the whole limit is admitted only alone. A file of unknown
/// size takes room as it grows without waiting (it cannot wait half way without risking that every download waits).
/// Not the core's DiskCache: that one evicts its oldest entries to make room, and a file waiting for its processor must
/// not be evicted.
/// </summary>
public sealed class DownloadSpace(long limit)
{
    private readonly Lock _gate = new();
    private readonly Queue<(long Size, TaskCompletionSource Admitted)> _waiting = new();
    private long _used;

    public long Used
    {
        get { lock (_gate) return _used; }
    }

    /// <summary>Waits for room for <paramref name="size"/> bytes and takes it. In order of arrival.</summary>
    public async ValueTask ReserveAsync(long size, CancellationToken cancellationToken)
    {
        TaskCompletionSource admitted;
        lock (_gate)
        {
            if (_waiting.Count == 0 && Fits(size))
            {
                _used += size;
                return;
            }
            admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue((size, admitted));
        }
        using (cancellationToken.Register(() => admitted.TrySetCanceled(cancellationToken)))
            await admitted.Task.ConfigureAwait(false);
    }

    /// <summary>Takes room without waiting (bytes of a file of unknown size).</summary>
    public void Grow(long size)
    {
        lock (_gate) _used += size;
    }

    public void Release(long size)
    {
        lock (_gate)
        {
            _used -= size;
            while (_waiting.TryPeek(out var next) && (next.Admitted.Task.IsCanceled || Fits(next.Size)))
            {
                _waiting.Dequeue();
                if (next.Admitted.TrySetResult()) _used += next.Size;
            }
        }
    }

    private bool Fits(long size) => _used == 0 || _used + size <= limit;
}
