using System.Buffers;
using System.Data.Common;
using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Threading;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// The group commit of small files (docs/architecture.md, "Group commit"). A file that fits in one chunk, going to a
/// store that can commit objects in batches (<see cref="IGroupCommitWriter"/>: local disk), is read whole, hashed and
/// staged by the worker that planned it, under its transfer's and its destination's locks; the worker then moves on.
/// Once a batch is full (<see cref="MaxFiles"/>, <see cref="MaxBytes"/>), a second old (<see cref="MaxWait"/>), or the
/// plan has ended, the store makes the whole batch durable and gives each file its name, and only then is the batch
/// recorded complete, in one manifest transaction (<see cref="IManifest.CompleteTransfersAsync"/>), its locks let go and
/// its files counted. No chunk records, no sink state, no per-file transactions: a file killed before its batch was
/// recorded has no record beyond its pending row, and is sent again by the next run.
/// <para>Batches are made durable one at a time, in order, while the next one fills, and recorded one at a time, in
/// order. A batch's names are made durable by the next batch's commit (on local disk its syncfs commits the renames
/// before it too), or, when no batch follows within <see cref="MaxWait"/> or the plan has ended, by a sync of the names
/// alone (<see cref="IGroupCommitWriter.SyncNamesAsync"/>); a batch is recorded only once its names are durable, so the
/// record of one batch runs while the next one is made durable and the one after it fills (the disk and the manifest
/// work at once). Once three closed batches wait to be recorded, every worker waits for the oldest, so at most four
/// batches are held. A file the fast path cannot take (a lock another process holds, a source that changed, a failed
/// write) goes the ordinary way, through <see cref="FileTransfer"/>, which reports it as it always did; so does every
/// file of a batch whose commit failed.</para>
/// </summary>
internal sealed class GroupCommit : IAsyncDisposable
{
    /// <summary>Files a batch holds at most: each holds an open partial file and two locks until it is committed.</summary>
    public const int MaxFiles = 256;

    /// <summary>Bytes a batch holds at most, written but not yet durable.</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Closed batches not yet recorded before the workers wait for the oldest (see <see cref="AddAsync"/>).</summary>
    private const int MaxClosed = 3;

    /// <summary>The longest a staged file waits for its batch to fill before the batch is committed anyway (files that
    /// trickle in between large ones).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    private readonly TransferContext _context;
    private readonly Func<PlannedFile, CancellationToken, ValueTask> _fallback;
    private readonly Action<FileResult> _count;
    private readonly CancellationToken _runToken;
    private readonly bool _enabled;
    private readonly object _gate = new();
    private List<Staged> _open = new(MaxFiles);
    private long _openBytes;
    private long _openedAt;
    // The disk's chain (the batches' commits and the syncs of names, in order; its steps never throw) and the manifest's
    // (the batches' records, in order).
    private Task _committing = Task.CompletedTask;
    private Task _recording = Task.CompletedTask;
    // Under the gate: the last step put on the disk's chain was a batch's commit, whose names wait for the next step;
    // and when it was put there.
    private bool _namesWaiting;
    private long _committedAt;
    // The last batch committed whose names are not yet durable. Touched only by the disk chain's steps, one at a time.
    private Batch? _unnamed;
    private readonly CancellationTokenSource _stopTicker = new();
    private Task? _ticker;
    // The store the batches go to: the first writable one seen. A file for another store goes the ordinary way.
    private IStorage? _store;

    /// <summary>A closed batch. <see cref="Named"/>: true once its files are durable at their final names (its commit,
    /// then its names: the next batch's commit or a sync of the names); false when either failed.</summary>
    private sealed class Batch(List<Staged> files)
    {
        public List<Staged> Files { get; } = files;

        public IGroupCommitWriter Writer { get; } = files[0].File.Features.Destination.As<IGroupCommitWriter>(files[0].File.To.Storage)!;

        public TaskCompletionSource<bool> Named { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record Staged(PlannedFile File, IStagedObject Object, IAsyncDisposable TransferLock, IAsyncDisposable DestinationLock,
        CompletedTransfer Done, FileResult Result);

    /// <param name="fallback">Runs a file the ordinary way: for files the fast path lets go after it took them.</param>
    /// <param name="count">Counts a file once its batch is recorded.</param>
    public GroupCommit(TransferContext context, Func<PlannedFile, CancellationToken, ValueTask> fallback, Action<FileResult> count,
        CancellationToken runToken)
    {
        _context = context;
        _fallback = fallback;
        _count = count;
        _runToken = runToken;
        // What the fast path leaves out, each needs the ordinary one: stages (the output is not the file), reading back
        // after the commit (--checksum).
        _enabled = context.Stages.Count == 0 && !context.Options.VerifyAfterCommit;
    }

    /// <summary>True when <paramref name="file"/> may be staged: small, no stages, a cheap source read more than once,
    /// a destination listed (so known to be absent, or different) and nothing of it to resume.</summary>
    public bool Accepts(PlannedFile file)
    {
        if (!_enabled || file.Info is not { IsDirectory: false, SpecialFileKind: null } info || info.Size < 0 || info.Size > _context.Options.ChunkSize)
            return false;
        if (file.Hint is not { Listed: true, NothingToResume: true, Completed: null } hint || SameSizeAndTime(hint.Info, info)) return false;
        if (file.Features.Source is not { CheapReads: true, ReadOnce: false } || file.Features.Destination is { KeepsNothing: true } or { DeduplicatingWriter: true })
            return false;
        if (file.Features.Destination.As<IGroupCommitWriter>(file.To.Storage) is null || _context.Stop.Reason is not null) return false;
        lock (_gate)
        {
            _store ??= file.To.Storage;
            return ReferenceEquals(_store, file.To.Storage);
        }
    }

    /// <summary>A destination with the source's size and modified time is adopted by the ordinary path (rclone's rule),
    /// without copying: it is what a run killed between a batch's renames and its record leaves.</summary>
    private static bool SameSizeAndTime(ObjectInfo? destination, ObjectInfo source) =>
        destination is { IsDirectory: false } d && d.Size == source.Size && d.Modified is { } t && source.Modified is { } m
        && Math.Abs((t - m).TotalSeconds) < 1;

    /// <summary>Stages <paramref name="file"/> (which <see cref="Accepts"/> took) into the open batch. False when it could
    /// not, with nothing of it kept (no lock, no partial file): the caller runs it the ordinary way.</summary>
    public async ValueTask<bool> TryStageAsync(PlannedFile file, CancellationToken cancellationToken)
    {
        var staged = await StageAsync(file, cancellationToken).ConfigureAwait(false);
        if (staged is null) return false;
        await AddAsync(staged).ConfigureAwait(false);
        return true;
    }

    private async Task<Staged?> StageAsync(PlannedFile file, CancellationToken cancellationToken)
    {
        var info = file.Info!;
        var manifest = _context.Manifest;
        var key = new TransferKey(file.From.Key, file.To.Key, _context.PipelineSpec);
        // The same two locks as the ordinary path, taken the same way (tried, never waited for).
        var transferLock = await manifest.TryLockAsync(key, cancellationToken).ConfigureAwait(false);
        if (transferLock is null) return null;
        IAsyncDisposable? destinationLock = null;
        IStagedObject? staged = null;
        var size = (int)info.Size;
        var buffer = ArrayPool<byte>.Shared.Rent(size + 1);
        try
        {
            destinationLock = await manifest.TryLockAsync(ManifestQueries.DestinationLock(file.To.Key), cancellationToken).ConfigureAwait(false);
            if (destinationLock is null) return null;
            int length;
            ObjectInfo? now;
            if (file.From.Storage is IWholeReader whole)
            {
                // Open, read, one stat of the open file, close: a write since the listing moves its change time.
                (length, now) = whole.ReadWhole(file.From.Path, buffer.AsMemory(0, size + 1));
            }
            else
            {
                var stream = await file.From.Storage.OpenReadAsync(file.From.Path, new ReadOptions(IfVersion: info.Version), cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                    length = await ReadWholeAsync(stream, buffer.AsMemory(0, size + 1), cancellationToken).ConfigureAwait(false);
                if (length == size) now = await file.From.Storage.StatAsync(file.From.Path, cancellationToken).ConfigureAwait(false);
                else now = null;
            }
            // Another length, or a rewrite since it was listed (the change time moves): the ordinary path starts it again.
            if (length != size || now is null || !Identity(now).SameExactlyAs(Identity(info))) return null;

            var content = buffer.AsMemory(0, length);
            var md5 = _context.Options.Hashes.HasFlag(ContentHashes.Md5) || info.Hashes.ContainsKey("md5")
                ? Convert.ToHexStringLower(MD5.HashData(content.Span)) : null;
            var sha256 = _context.Options.Hashes.HasFlag(ContentHashes.Sha256) ? Convert.ToHexStringLower(SHA256.HashData(content.Span)) : null;
            // The ordinary path reports a source whose bytes differ from the MD5 it offers.
            if (info.Hashes.TryGetValue("md5", out var expected) && !string.Equals(expected, md5, StringComparison.OrdinalIgnoreCase)) return null;

            var writer = file.Features.Destination.As<IGroupCommitWriter>(file.To.Storage)!;
            staged = await writer.StageAsync(file.To.Path, content, Request(file, info), cancellationToken).ConfigureAwait(false);
            var name = file.To.ToString();
            _context.Observer.FileStarted(name, info.Size, 0);
            _context.Observer.FileProgress(name, length);
            _context.Tally.AddSent(length);
            var result = new FileResult(file.From.ToString(), name, FileOutcome.Copied) { Bytes = length, BytesSent = length, Md5 = md5, Sha256 = sha256 };
            var entry = new Staged(file, staged, transferLock, destinationLock,
                new CompletedTransfer(key, Identity(info), new TransferCompletion(length, md5, sha256)), result);
            // The batch owns them now.
            (staged, transferLock, destinationLock) = (null, null, null);
            return entry;
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not DbException)
        {
            // Whatever it was, the ordinary path meets it again and reports it as it always did.
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (staged is not null) await staged.DisposeAsync().ConfigureAwait(false);
            if (destinationLock is not null) await destinationLock.DisposeAsync().ConfigureAwait(false);
            if (transferLock is not null) await transferLock.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends: one byte more than the file's size is
    /// asked for, to see a file that grew.</summary>
    private static async Task<int> ReadWholeAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken) =>
        await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

    private static SourceIdentity Identity(ObjectInfo info) => new(info.Size, info.Version, info.Modified);

    private WriteRequest Request(PlannedFile file, ObjectInfo info) => new()
    {
        ExpectedSize = info.Size,
        Modified = info.Modified,
        Source = Location.Redact(file.From.Uri),
        Hashes = info.Hashes,
        Metadata = _context.Options.Metadata.AsReadOnly(),
    };

    private async ValueTask AddAsync(Staged entry)
    {
        Task? oldest = null;
        lock (_gate)
        {
            if (_open.Count == 0) _openedAt = _context.Time.GetTimestamp();
            _open.Add(entry);
            _openBytes += entry.Done.Completion.OutputSize;
            if (_open.Count >= MaxFiles || _openBytes >= MaxBytes) CommitOpenBatch();
            _ticker ??= TickAsync(_stopTicker.Token);
            while (_closed.Count > 0 && _closed.Peek().IsCompleted) _closed.Dequeue();
            // Backpressure: with three batches closed and not yet recorded, every worker waits for the oldest, so a run
            // holds at most four batches (the open one, one committing, one waiting for that commit to make its names
            // durable, one being recorded), whatever --transfers is. With two, the workers would wait for a commit and a
            // record one after the other, where they fill the next batch meanwhile.
            if (_closed.Count >= MaxClosed) oldest = _closed.Peek();
        }
        if (oldest is not null) await oldest.ConfigureAwait(false);
    }

    /// <summary>Starts the commit of the open batch, after the one before it. Under the gate.</summary>
    private void CommitOpenBatch()
    {
        var batch = new Batch(_open);
        _open = new List<Staged>(MaxFiles);
        _openBytes = 0;
        _committing = CommitAfterAsync(_committing, batch);
        _namesWaiting = true;
        _committedAt = _context.Time.GetTimestamp();
        _recording = RecordAfterAsync(_recording, batch);
        _closed.Enqueue(_recording);
    }

    /// <summary>Makes the last committed batch's names durable without waiting for a next batch (the plan ended, or
    /// none came within <see cref="MaxWait"/>). Under the gate.</summary>
    private void SyncNamesNow()
    {
        if (!_namesWaiting) return;
        _namesWaiting = false;
        _committing = SyncNamesAfterAsync(_committing);
    }

    // The commits of closed batches, oldest first (completed ones are dropped as workers pass).
    private readonly Queue<Task> _closed = new();

    /// <summary>Commits whatever the open batch holds, then waits for every batch: after it, every file staged so far is
    /// recorded, or was run the ordinary way. A manifest failure of any batch is thrown here.</summary>
    public async Task DrainAsync()
    {
        Task last;
        lock (_gate)
        {
            if (_open.Count > 0) CommitOpenBatch();
            SyncNamesNow();
            last = _recording;
        }
        await last.ConfigureAwait(false);
    }

    /// <summary>Commits a batch that waited <see cref="MaxWait"/> without filling; makes the names of the last one
    /// committed durable when no batch followed it within <see cref="MaxWait"/>.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(MaxWait / 4, _context.Time);
            using var stop = timer.StopOn(cancellationToken);
            while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
            {
                lock (_gate)
                {
                    if (_open.Count > 0 && _context.Time.GetElapsedTime(_openedAt) >= MaxWait) CommitOpenBatch();
                    else if (_open.Count == 0 && _context.Time.GetElapsedTime(_committedAt) >= MaxWait) SyncNamesNow();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Makes <paramref name="batch"/> durable and named once the step before it is done, which also makes the
    /// names of the batch committed before it durable. Never throws: a failed commit lets the batch go the ordinary way
    /// (<see cref="RecordAfterAsync"/>).</summary>
    private async Task CommitAfterAsync(Task before, Batch batch)
    {
        await before.ConfigureAwait(false);
        var previous = _unnamed;
        _unnamed = null;
        bool committed;
        try
        {
            await batch.Writer.CommitAsync(batch.Files.Select(s => s.Object).ToList(), CancellationToken.None).ConfigureAwait(false);
            committed = true;
        }
        catch (Exception e)
        {
            // Not known to be durable: nothing of the batch is recorded, and each file goes the ordinary way, which
            // finds it at its name (adopted by size and time only if it is there whole) or sends it again.
            _context.Observer.Warning($"a batch of {batch.Files.Count} small files could not be made durable together ({e.Message}): each is copied on its own");
            committed = false;
        }
        // The batch before: its names are durable now, unless this commit failed (then they are synced on their own).
        previous?.Named.TrySetResult(committed || await TrySyncNamesAsync(previous).ConfigureAwait(false));
        if (committed) _unnamed = batch;
        else batch.Named.TrySetResult(false);
    }

    /// <summary>Makes the names of the last batch committed durable, once the step before is done.</summary>
    private async Task SyncNamesAfterAsync(Task before)
    {
        await before.ConfigureAwait(false);
        var previous = _unnamed;
        _unnamed = null;
        previous?.Named.TrySetResult(await TrySyncNamesAsync(previous).ConfigureAwait(false));
    }

    private async Task<bool> TrySyncNamesAsync(Batch batch)
    {
        try
        {
            await batch.Writer.SyncNamesAsync(CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e)
        {
            _context.Observer.Warning($"the names of a batch of {batch.Files.Count} small files could not be made durable ({e.Message}): each is copied on its own");
            return false;
        }
    }

    /// <summary>Records <paramref name="closed"/> complete once the batch before it is recorded and its files are durable
    /// at their final names (<see cref="Batch.Named"/>); lets go of its locks and counts its files.</summary>
    private async Task RecordAfterAsync(Task before, Batch closed)
    {
        var batch = closed.Files;
        var named = closed.Named.Task;
        try
        {
            await before.ConfigureAwait(false);
        }
        catch
        {
            // The manifest failed under the batch before (the run stops): this one is let go unrecorded (at its final
            // names if it was committed, which the next run adopts), and the failure goes on down the chain to whoever
            // waits for it.
            await named.ConfigureAwait(false);
            await ReleaseAsync(batch).ConfigureAwait(false);
            throw;
        }
        if (!await named.ConfigureAwait(false))
        {
            await ReleaseAsync(batch).ConfigureAwait(false);
            await FallBackAsync(batch).ConfigureAwait(false);
            return;
        }
        var done = batch.Where(s => s.Object.Committed).ToList();
        try
        {
            await _context.Manifest.CompleteTransfersAsync(_context.SessionId, done.Select(s => s.Done).ToList(), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await ReleaseAsync(batch).ConfigureAwait(false);
        }
        foreach (var staged in done)
        {
            _context.Logger.Committed(staged.Result.Destination, staged.Result.Bytes, staged.Result.BytesSent);
            _count(staged.Result);
        }
        await FallBackAsync(batch.Where(s => !s.Object.Committed).ToList()).ConfigureAwait(false);
    }

    private async Task FallBackAsync(List<Staged> files)
    {
        foreach (var staged in files)
        {
            if (_runToken.IsCancellationRequested) return;
            await _fallback(staged.File with { Hint = DestinationHint.Unknown }, _runToken).ConfigureAwait(false);
        }
    }

    /// <summary>Lets each file's partial file go (removed unless committed), then its locks.</summary>
    private static async Task ReleaseAsync(List<Staged> batch)
    {
        foreach (var staged in batch)
        {
            await staged.Object.DisposeAsync().ConfigureAwait(false);
            await staged.DestinationLock.DisposeAsync().ConfigureAwait(false);
            await staged.TransferLock.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A run that stops (cancelled, or the manifest failed) lets the open batch go unrecorded, its partial files
    /// removed, and waits for the batches already committing, which are recorded if they can be.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopTicker.CancelAsync().ConfigureAwait(false);
        if (_ticker is not null) await _ticker.ConfigureAwait(false);
        List<Staged> open;
        Task committing;
        lock (_gate)
        {
            open = _open;
            _open = [];
            SyncNamesNow();
            committing = _recording;
        }
        await ReleaseAsync(open).ConfigureAwait(false);
        try
        {
            await committing.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reported by DrainAsync, or the run is stopping for another reason already.
        }
        _stopTicker.Dispose();
    }
}
