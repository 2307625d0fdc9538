using System.Collections.Concurrent;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Hosting.Jobs;

/// <summary>Adds up a job's copy as the engine reports it (from many threads), for the worker to write at most once a
/// second (<see cref="Snapshot"/> returns null when nothing moved since the last one). <paramref name="session"/>: the
/// manifest session the copy records its files in (the worker's).</summary>
internal sealed class JobProgressObserver(long knownTotal, long session, Action? committing = null) : ITransferObserver
{
    private readonly ConcurrentDictionary<string, long> _files = new(StringComparer.Ordinal);
    private long _planned;
    private long _finishedBytes;
    private long _resumed;
    private long _sent;
    private int _filesDone;
    private string? _current;
    private long _lastDone = -1;

    public void FilePlanned(long size)
    {
        if (size > 0) Interlocked.Add(ref _planned, size);
    }

    public void FileStarted(string name, long size, long resumedBytes)
    {
        _files[name] = resumedBytes;
        Interlocked.Add(ref _resumed, resumedBytes);
        _current = name;
    }

    public void FileProgress(string name, long sourceBytes) => _files[name] = sourceBytes;

    /// <summary>Where the last file that is now at the destination went (copied, or skipped as already there).</summary>
    public string? Delivered { get; private set; }

    public void FileFinished(FileResult result)
    {
        if (result.Outcome != FileOutcome.Failed) Delivered = result.Destination;
        // The engine names a file by its destination (FileTransfer: FileStarted(destination.ToString(), ...)).
        _files.TryRemove(result.Destination, out _);
        Interlocked.Add(ref _finishedBytes, result.Bytes);
        Interlocked.Add(ref _sent, result.BytesSent);
        Interlocked.Increment(ref _filesDone);
    }

    /// <summary>The job's one file has been sent and is committing: the worker may start another job meanwhile.</summary>
    public void OnlyFileCommitting() => committing?.Invoke();

    private long Done => Interlocked.Read(ref _finishedBytes) + _files.Values.Sum();

    private long Total => Interlocked.Read(ref _planned) is > 0 and var planned ? planned : knownTotal;

    public JobProgress? Snapshot()
    {
        var done = Done;
        if (done == Interlocked.Exchange(ref _lastDone, done)) return null;
        var resumed = Interlocked.Read(ref _resumed);
        return new JobProgress("copying", done, Total, Math.Max(0, done - resumed), resumed, _current, session);
    }

    /// <summary>The figures a run ends with: the summary's when the copy returned one.</summary>
    public JobProgress Final(TransferSummary? summary)
    {
        if (summary is null)
        {
            var done = Done;
            var resumed = Interlocked.Read(ref _resumed);
            return new JobProgress("stopped", done, Total, Math.Max(0, done - resumed), resumed, _current, session);
        }
        return new JobProgress("done", summary.Bytes, Math.Max(Total, summary.Bytes), summary.BytesSent, summary.BytesResumed, null, session);
    }
}
