using System.Collections.Concurrent;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// A run's counts as they happen, from many threads: files as they finish, and bytes sent as the destination takes
/// them, chunk by chunk, whatever the file's end (a file that fails after 285 MB has sent 285 MB). Read at any time:
/// for the session's counts in the manifest while it runs, and for its summary when it stops.
/// </summary>
internal sealed class SessionTally
{
    private readonly ConcurrentDictionary<ChunkedSink, byte> _sending = new();
    private int _files, _skipped, _failed;
    private long _bytes, _resumed, _sentBySinksDone;

    public int Files => Volatile.Read(ref _files);
    public int FilesSkipped => Volatile.Read(ref _skipped);
    public int FilesFailed => Volatile.Read(ref _failed);
    public long Bytes => Interlocked.Read(ref _bytes);
    public long BytesResumed => Interlocked.Read(ref _resumed);

    /// <summary>Bytes written to the destinations by this run so far, files still under way included.</summary>
    public long BytesSent => Interlocked.Read(ref _sentBySinksDone) + _sending.Keys.Sum(s => s.BytesSent);

    /// <summary>Counts a finished file. Its bytes sent were counted as they were sent (<see cref="Sending"/>).</summary>
    public void Finished(FileResult result)
    {
        Interlocked.Increment(ref _files);
        Interlocked.Add(ref _bytes, Math.Max(0, result.Bytes));
        Interlocked.Add(ref _resumed, result.BytesResumed);
        if (result.Outcome == FileOutcome.Skipped) Interlocked.Increment(ref _skipped);
        if (result.Outcome == FileOutcome.Failed) Interlocked.Increment(ref _failed);
    }

    /// <summary>Counts what <paramref name="sink"/> sends, as it sends it; disposing the handle keeps its total.</summary>
    public IAsyncDisposable Sending(ChunkedSink sink)
    {
        _sending[sink] = 0;
        return new Sent(this, sink);
    }

    private sealed class Sent(SessionTally tally, ChunkedSink sink) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            // Added before removed: a reader in between counts it twice for a moment, never not at all.
            Interlocked.Add(ref tally._sentBySinksDone, sink.BytesSent);
            tally._sending.TryRemove(sink, out _);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Counts bytes written without a sink (a small file staged whole for a group commit).</summary>
    public void AddSent(long bytes) => Interlocked.Add(ref _sentBySinksDone, bytes);

    public SessionCounts Counts() => new(Files, FilesSkipped, FilesFailed, Bytes, BytesSent);
}
