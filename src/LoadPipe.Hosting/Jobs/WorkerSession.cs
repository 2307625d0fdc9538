using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Hosting.Jobs;

/// <summary>
/// The one manifest session an `lp worker` runs all its jobs in (<see cref="TransferEngine.CopyInSessionAsync"/>), from
/// its start to its stop: each job's files are recorded in it, and its lock, held for the worker's life, tells
/// `lp status` that it is running (and, once the worker is killed, interrupted). A job's run thus costs no session
/// row, lock, counts or end of its own. The counts are the sum of the jobs' runs so far, written with the worker's
/// other periodic writes.
/// </summary>
internal sealed class WorkerSession : IAsyncDisposable
{
    private readonly IManifest _manifest;
    private readonly IAsyncDisposable? _alive;
    private readonly object _gate = new();
    private SessionCounts _counts = new(0, 0, 0, 0, 0);
    private SessionCounts? _recorded;

    private WorkerSession(IManifest manifest, long id, IAsyncDisposable? alive)
    {
        _manifest = manifest;
        Id = id;
        _alive = alive;
    }

    public long Id { get; }

    /// <summary>Begins the worker's session (command "worker", its name as the source) and takes its lock.</summary>
    public static async Task<WorkerSession> BeginAsync(IManifest manifest, string worker, CancellationToken cancellationToken)
    {
        var id = await manifest.BeginSessionAsync(new SessionStart("worker", worker, "jobs"), cancellationToken).ConfigureAwait(false);
        var alive = await manifest.TryLockAsync(ManifestQueries.SessionLock(id), cancellationToken).ConfigureAwait(false);
        return new WorkerSession(manifest, id, alive);
    }

    /// <summary>Adds a job's run to the session's counts.</summary>
    public void Add(TransferSummary run)
    {
        lock (_gate)
        {
            _counts = new SessionCounts(_counts.Files + run.Files, _counts.FilesSkipped + run.FilesSkipped, _counts.FilesFailed + run.FilesFailed,
                _counts.Bytes + run.Bytes, _counts.BytesSent + run.BytesSent);
        }
    }

    private SessionCounts Counts
    {
        get { lock (_gate) return _counts; }
    }

    /// <summary>Writes the counts when they changed since the last write.</summary>
    public async Task RecordCountsAsync(CancellationToken cancellationToken)
    {
        var counts = Counts;
        if (counts == _recorded) return;
        await _manifest.RecordSessionCountsAsync(Id, counts, cancellationToken).ConfigureAwait(false);
        _recorded = counts;
    }

    /// <summary>Records the session's end (interrupted when the worker was killed, else by its files) and lets its lock go.</summary>
    public async Task EndAsync(bool interrupted, CancellationToken cancellationToken)
    {
        var c = Counts;
        var status = interrupted ? SessionStatus.Interrupted : SessionStatuses.Of(c.FilesFailed, c.Files);
        await _manifest.EndSessionAsync(Id, new SessionSummary(status, c.Files, c.FilesSkipped, c.FilesFailed, c.Bytes, c.BytesSent), cancellationToken).ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 && _alive is not null ? _alive.DisposeAsync() : ValueTask.CompletedTask;

    private int _disposed;
}
