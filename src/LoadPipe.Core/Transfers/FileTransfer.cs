using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using LoadPipe.Core.Buffers;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Storage;
using Microsoft.Extensions.Logging;
using Polly;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// Moves one file from source through the stages into the destination, resuming from the manifest. See
/// docs/architecture.md for the three ways it resumes (framed, replay, restart) and how hashes stay whole.
/// </summary>
internal sealed class FileTransfer(TransferContext context)
{
    private readonly IManifest _manifest = context.Manifest;
    private readonly TransferOptions _options = context.Options;
    private readonly ResiliencePipeline _retry = context.Retry;

    /// <param name="waitIfInProgress">When another process sharing the manifest works on this very transfer: false
    /// throws <see cref="TransferInProgressException"/> at once (the engine comes back to the file later), true waits
    /// for that process to end and then settles the file as it left it (done: skipped; not done: resumed here).</param>
    /// <param name="features">What the source's and the destination's stores offer, taken once for the run.</param>
    public async Task<FileResult> RunAsync(Location source, ObjectInfo sourceInfo, Location destination, DestinationHint hint,
        TransferFeatures features, bool waitIfInProgress, CancellationToken cancellationToken)
    {
        try
        {
            return await RunOnceAsync(source, sourceInfo, destination, hint, features, waitIfInProgress, cancellationToken).ConfigureAwait(false);
        }
        catch (SourceChangedException e) when (!features.Source.ReadOnce)
        {
            // Changed while we read it: what we sent is another content's prefix. Start again, once, from zero.
            context.Observer.Warning($"{source}: {e.Message}; starting it again from zero");
            var fresh = await StatAsync(source, cancellationToken).ConfigureAwait(false);
            return await RunOnceAsync(source, fresh, destination, DestinationHint.Unknown, features, waitIfInProgress, cancellationToken, forceRestart: true).ConfigureAwait(false);
        }
    }

    private async Task<FileResult> RunOnceAsync(Location source, ObjectInfo sourceInfo, Location destination, DestinationHint hint,
        TransferFeatures features, bool waitIfInProgress, CancellationToken cancellationToken, bool forceRestart = false)
    {
        // The common case of a re-run, decided without taking a lock: settled by the manifest when the planner
        // found it there, else complete, unchanged and still at the destination.
        if (!forceRestart && TrySettle(source, sourceInfo, destination, hint) is { } skipped) return skipped;
        var identity = Identity(sourceInfo);
        var key = new TransferKey(source.Key, destination.Key, context.PipelineSpec);
        // The planner looked it up moments ago and found it not done, or the caller expects it new: the look under the
        // lock is the one that counts.
        if (!forceRestart && !hint.NotDone && !_options.LikelyNew && await FindCompleteAsync(key, identity, destination, features, hint, cancellationToken).ConfigureAwait(false) is { } done)
            return Skipped(source, destination, done);
        // Two locks, always in this order: the transfer's, then the destination's (only ever tried, never waited for
        // while the first is held, so no two processes can wait on each other). The transfer's record is touched only
        // by its lock's holder. Both are taken at once where they can be; a destination held elsewhere is then tried
        // again under the transfer's lock, so that its failure is recorded by the holder. A destination that keeps
        // nothing (standard output) is each process's own: there is nothing to share.
        var destinationLock = ManifestQueries.DestinationLock(destination.Key);
        IAsyncDisposable? held;
        var bothHeld = false;
        if (features.Destination.KeepsNothing) held = await _manifest.TryLockAsync(key, cancellationToken).ConfigureAwait(false);
        else
        {
            var pair = await _manifest.TryLockPairAsync(key, destinationLock, cancellationToken).ConfigureAwait(false);
            bothHeld = pair.Held is not null;
            held = pair.Held ?? (pair.FirstBusy ? null : await _manifest.TryLockAsync(key, cancellationToken).ConfigureAwait(false));
        }
        if (held is null)
        {
            if (!waitIfInProgress)
                throw new TransferInProgressException($"in progress in another lp process: {destination}");
            held = await WaitForLockAsync(key, destination, cancellationToken).ConfigureAwait(false);
        }
        IAsyncDisposable? writing = null;
        try
        {
            writing = bothHeld || features.Destination.KeepsNothing ? null
                : await _manifest.TryLockAsync(destinationLock, cancellationToken).ConfigureAwait(false);
            try
            {
                if (writing is null && !bothHeld && !features.Destination.KeepsNothing)
                    throw new LoadPipeException(ErrorKind.Busy,
                        $"destination busy: another lp process is writing {destination} (from another source or through other stages)");
                var result = await RunLockedAsync(source, sourceInfo, destination, key, identity, hint, features, cancellationToken, forceRestart).ConfigureAwait(false);
                // The file's end was held back for the caller to record: the locks go with it, held until it is recorded.
                if (_options.HoldEnd is { AwaitsLocks: true } hold)
                {
                    hold.TakeLocks(held, writing);
                    (held, writing) = (null, null);
                }
                return result;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not SourceChangedException && e is not TransferFencedException)
            {
                // Whatever failed (asking the destination, opening it, the first write...), the manifest says so, for
                // `lp retry`: a file that failed before it had a record gets one.
                var record = await _manifest.FindTransferAsync(key, CancellationToken.None).ConfigureAwait(false)
                    ?? await _manifest.StartTransferAsync(key, context.SessionId, identity, CancellationToken.None).ConfigureAwait(false);
                if (record.Status is not (TransferStatus.Completed or TransferStatus.Failed))
                    await TryFailAsync(record.Lease, e.Message).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            try
            {
                if (writing is not null) await writing.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (held is not null) await held.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for the process working on this transfer to let it go (it ends, fails or dies), asking again at
    /// growing intervals; the caller then finds the transfer as that process left it.</summary>
    private async Task<IAsyncDisposable> WaitForLockAsync(TransferKey key, Location destination, CancellationToken cancellationToken)
    {
        context.Logger.Busy(Location.Redact(key.Source), destination.ToString());
        context.Observer.Warning($"{destination}: in progress in another lp process; waiting for it to end");
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            await Task.Delay(delay, context.Time, cancellationToken).ConfigureAwait(false);
            if (await _manifest.TryLockAsync(key, cancellationToken).ConfigureAwait(false) is { } held) return held;
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxLockPoll.Ticks));
        }
    }

    /// <summary>The longest wait between two tries of a busy transfer's lock: how late, at most, a waiting run notices
    /// that the other process is done.</summary>
    private static readonly TimeSpan MaxLockPoll = TimeSpan.FromSeconds(2);

    /// <summary>Skipped, when the planner found the transfer completed in the manifest from a source with this
    /// identity (<see cref="DestinationHint.Completed"/>); else null. Costs no call: the engine settles a re-run's
    /// unchanged files with it as the plan streams.</summary>
    public FileResult? TrySettle(Location source, ObjectInfo sourceInfo, Location destination, DestinationHint hint) =>
        hint.Completed is { } settled && settled.Source.SameAs(Identity(sourceInfo))
        && settled.Key == new TransferKey(source.Key, destination.Key, context.PipelineSpec)
            ? Skipped(source, destination, settled)
            : null;

    /// <summary>What the store says of the object. A stream that says nothing of itself (standard input) has an unknown
    /// identity: it is never taken for the same content, so never skipped and never resumed.</summary>
    private static SourceIdentity Identity(ObjectInfo sourceInfo) => new(sourceInfo.Size, sourceInfo.Version, sourceInfo.Modified);

    private async Task<FileResult> RunLockedAsync(Location source, ObjectInfo sourceInfo, Location destination, TransferKey key,
        SourceIdentity identity, DestinationHint hint, TransferFeatures features, CancellationToken cancellationToken, bool forceRestart)
    {
        // Again under the lock: another process may have finished it meanwhile. A transfer that is most likely new (a
        // job's first attempt) is started as it is looked for, in one call: when no record was found, the record is
        // this run's, in progress, with nothing confirmed.
        TransferRecord? existing, started = null;
        if (_options.LikelyNew && !forceRestart)
        {
            var (record, isNew) = await _manifest.StartTransferIfNewAsync(key, context.SessionId, identity, cancellationToken).ConfigureAwait(false);
            existing = isNew ? null : record;
            started = isNew ? record : null;
        }
        else existing = await _manifest.FindTransferAsync(key, cancellationToken).ConfigureAwait(false);
        if (!forceRestart && await IsCompleteAsync(existing, identity, destination, features, hint, cancellationToken).ConfigureAwait(false))
            return Skipped(source, destination, existing!);
        // Planned but never started: nothing of it was sent.
        if (existing is { Status: TransferStatus.Pending }) existing = null;

        if (existing is null && await SameAtDestinationAsync(sourceInfo, destination, features, hint, cancellationToken).ConfigureAwait(false))
        {
            // Copied before this manifest knew of it (another manifest, another tool): rclone's rule, same size and
            // modified time, says it is there. Remember it so the next run need not look.
            var adopted = started ?? await _manifest.StartTransferAsync(key, context.SessionId, identity, cancellationToken).ConfigureAwait(false);
            await _manifest.CompleteTransferAsync(adopted.Lease, new TransferCompletion(sourceInfo.Size, null, null), cancellationToken).ConfigureAwait(false);
            context.Logger.Skipped(source.ToString(), destination.ToString());
            return new FileResult(source.ToString(), destination.ToString(), FileOutcome.Skipped) { Bytes = sourceInfo.Size };
        }

        // The copier says itself which sources it can copy (CantCopyException for the others: another store, a stream).
        if (context.Stages.Count == 0 && features.Destination.As<IServerSideCopier>(destination.Storage) is { } copier)
        {
            var copied = await TryServerSideCopyAsync(copier, source, sourceInfo, destination, key, identity, cancellationToken).ConfigureAwait(false);
            if (copied is not null) return copied;
        }

        if (features.Destination.As<IWritableStorage>(destination.Storage) is not { } writer)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination}: {destination.Storage.Description} cannot be written to");
        var request = Request(source, sourceInfo, features);

        // A store that keeps one copy of each content (YouTube) is asked before a new write; a session already
        // under way (its state saved) was paid for and goes on. A stream read once cannot be hashed before it is sent.
        if (features.Destination.As<IDeduplicatingWriter>(destination.Storage) is { } dedup && existing?.SinkState is null && !features.Source.ReadOnce
            && context.Stages.Count == 0)
        {
            request = await WithContentHashAsync(source, sourceInfo, request, features, cancellationToken).ConfigureAwait(false);
            var duplicate = await _retry.ExecuteAsync(async ct => await dedup.FindDuplicateAsync(destination.Path, request, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            if (duplicate is not null) return await DuplicateAsync(source, sourceInfo, destination, key, identity, request, duplicate, cancellationToken).ConfigureAwait(false);
        }

        // A local source that cannot be opened (a link to nothing, no permission) fails here, before a partial file exists.
        if (features.Source is { CheapReads: true, ReadOnce: false })
            await (await source.Storage.OpenReadAsync(source.Path, new ReadOptions(IfVersion: sourceInfo.Version), cancellationToken).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);

        var (lease, session, confirmed) = forceRestart || existing is null
            ? await StartFreshAsync(existing, key, identity, writer, destination, features, request, cancellationToken, started).ConfigureAwait(false)
            : await ResumeOrStartAsync(existing, source, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);

        await using (session.ConfigureAwait(false))
        {
            try
            {
                return await MoveAsync(source, sourceInfo, destination, features, lease, session, confirmed, cancellationToken).ConfigureAwait(false);
            }
            catch (ResumeMismatchException e) when (e.GoodChunks > 0 && features.Destination.As<IResumableWriter>(destination.Storage) is { } resumable
                && session.ResumeState is { } state && session is not ComparingWriteSession)
            {
                // Keep the chunks that still match (a power loss takes the newest ones) and send the rest again.
                var good = confirmed.Take(e.GoodChunks).ToList();
                context.Observer.Warning($"{destination}: {e.Message}; keeping the first {good[^1].End} bytes and sending the rest again");
                await _manifest.DropChunksAsync(lease, good.Count == confirmed.Count ? int.MaxValue : confirmed[good.Count].Sequence, cancellationToken).ConfigureAwait(false);
                // Let the destination go first: a local partial file stays locked while a session holds it open.
                await session.DisposeAsync().ConfigureAwait(false);
                var shorter = await resumable.ResumeWriteAsync(destination.Path, state, good[^1].End, request, cancellationToken).ConfigureAwait(false)
                    ?? throw new ResumeMismatchException($"{destination}: the partial upload can no longer be continued");
                await using (shorter.ConfigureAwait(false))
                    return await MoveAsync(source, sourceInfo, destination, features, lease, shorter, good, cancellationToken).ConfigureAwait(false);
            }
            catch (ResumeMismatchException e)
            {
                context.Observer.Warning($"{destination}: {e.Message}; starting the file again from zero");
                await TryAbortAsync(session).ConfigureAwait(false);
                var fresh = await StartFreshAsync(null, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);
                await using (fresh.Session.ConfigureAwait(false))
                    return await MoveAsync(source, sourceInfo, destination, features, fresh.Lease, fresh.Session, [], cancellationToken).ConfigureAwait(false);
            }
            catch (LoadPipeException e) when (e.Kind is ErrorKind.Integrity)
            {
                // The bytes are wrong: keep nothing of them, not even for a resume.
                await TryAbortAsync(session).ConfigureAwait(false);
                await TryFailAsync(lease, e.Message, forgetSinkState: true).ConfigureAwait(false);
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not TransferFencedException)
            {
                await TryFailAsync(lease, e.Message).ConfigureAwait(false);
                if (session.ResumeState is null) await TryAbortAsync(session).ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Records the failure on behalf of <paramref name="lease"/>, unless another process took the transfer over
    /// meanwhile: the record is then that process's, and the failure stays this run's alone.</summary>
    private async Task TryFailAsync(TransferLease lease, string error, bool forgetSinkState = false)
    {
        try
        {
            if (forgetSinkState) await _manifest.SetSinkStateAsync(lease, null, CancellationToken.None).ConfigureAwait(false);
            await _manifest.FailTransferAsync(lease, error, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TransferFencedException)
        {
        }
    }

    /// <summary>The transfer's record when it is complete, its source unchanged and its destination still there with
    /// the recorded size; else null.</summary>
    private async Task<TransferRecord?> FindCompleteAsync(TransferKey key, SourceIdentity identity, Location destination, TransferFeatures features,
        DestinationHint hint, CancellationToken cancellationToken)
    {
        if (features.Destination.KeepsNothing) return null;
        var record = await _manifest.FindTransferAsync(key, cancellationToken).ConfigureAwait(false);
        return await IsCompleteAsync(record, identity, destination, features, hint, cancellationToken).ConfigureAwait(false) ? record : null;
    }

    /// <summary>True when <paramref name="record"/> is complete, its source unchanged and its destination still there
    /// with the recorded size. Never for a destination that keeps nothing: what was sent there is gone.</summary>
    private static async Task<bool> IsCompleteAsync(TransferRecord? record, SourceIdentity identity, Location destination, TransferFeatures features,
        DestinationHint hint, CancellationToken cancellationToken)
    {
        if (features.Destination.KeepsNothing || record is not { Status: TransferStatus.Completed } || !record.Source.SameAs(identity)) return false;
        // A listing taken before another process finished the file may not show it, or may show it half written (a
        // server that lists an object while it is being stored): a listed entry that matches is trusted without
        // asking, anything else is asked about directly.
        if (hint is { Listed: true, Info: { } listed } && Holds(listed)) return true;
        var info = await destination.Storage.StatAsync(destination.Path, cancellationToken).ConfigureAwait(false);
        return Holds(info);

        bool Holds(ObjectInfo? info) =>
            info is { IsDirectory: false } && (record.OutputSize < 0 || info.Size < 0 || info.Size == record.OutputSize);
    }

    private FileResult Skipped(Location source, Location destination, TransferRecord done)
    {
        context.Logger.Skipped(source.ToString(), destination.ToString());
        return new FileResult(source.ToString(), destination.ToString(), FileOutcome.Skipped) { Bytes = done.OutputSize, Md5 = done.Md5, Sha256 = done.Sha256 };
    }

    /// <summary>Fast path: the store copies the object itself. On <see cref="CantCopyException"/>, null: stream it.</summary>
    private async Task<FileResult?> TryServerSideCopyAsync(IServerSideCopier copier, Location source, ObjectInfo sourceInfo, Location destination,
        TransferKey key, SourceIdentity identity, CancellationToken cancellationToken)
    {
        ObjectInfo result;
        try
        {
            result = await _retry.ExecuteAsync(async ct => await copier.CopyFromAsync(source.Storage, source.Path, destination.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (CantCopyException)
        {
            return null;
        }
        var record = await _manifest.StartTransferAsync(key, context.SessionId, identity, cancellationToken).ConfigureAwait(false);
        result.Hashes.TryGetValue("md5", out var md5);
        result.Hashes.TryGetValue("sha256", out var sha256);
        var size = result.Size >= 0 ? result.Size : sourceInfo.Size;
        await _manifest.CompleteTransferAsync(record.Lease, new TransferCompletion(size, md5, sha256), cancellationToken).ConfigureAwait(false);
        context.Logger.Committed(destination.ToString(), size, 0);
        return new FileResult(source.ToString(), destination.ToString(), FileOutcome.Copied) { Bytes = size, Md5 = md5, Sha256 = sha256 };
    }

    /// <summary>Without stages, a destination with the source's size and modified time (to the second) is the same
    /// file. A listing answers for absent files and other sizes; only a same-size candidate whose listed time cannot
    /// decide (S3 lists upload times) is asked about directly.</summary>
    private async Task<bool> SameAtDestinationAsync(ObjectInfo sourceInfo, Location destination, TransferFeatures features, DestinationHint hint,
        CancellationToken cancellationToken)
    {
        if (context.Stages.Count > 0 || features.Destination.KeepsNothing || sourceInfo.Size < 0 || sourceInfo.Modified is not { } modified) return false;
        var info = hint.Listed ? hint.Info : await destination.Storage.StatAsync(destination.Path, cancellationToken).ConfigureAwait(false);
        if (info is not { IsDirectory: false } || info.Size != sourceInfo.Size) return false;
        if (SameTime(info.Modified, modified)) return true;
        if (!hint.Listed) return false;
        var stat = await destination.Storage.StatAsync(destination.Path, cancellationToken).ConfigureAwait(false);
        return stat is { IsDirectory: false } && stat.Size == sourceInfo.Size && SameTime(stat.Modified, modified);
    }

    private static bool SameTime(DateTimeOffset? a, DateTimeOffset b) => a is { } t && Math.Abs((t - b).TotalSeconds) < 1;

    /// <summary>Resumes the interrupted transfer <paramref name="existing"/> when it can, else starts it afresh. The
    /// decision is made from the record as it is once this run has taken the transfer (<see cref="IManifest.AttachTransferAsync"/>):
    /// until then a process that lost its lock may still confirm chunks and change the resume state, so what was read
    /// before the attach may be behind.</summary>
    private async Task<(TransferLease, IWriteSession, IReadOnlyList<ChunkRecord>)> ResumeOrStartAsync(TransferRecord existing, Location source,
        TransferKey key, SourceIdentity identity, IWritableStorage writer, Location destination, TransferFeatures features, WriteRequest request,
        CancellationToken cancellationToken)
    {
        if (existing.Status == TransferStatus.Completed)
            return await StartFreshAsync(existing, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);
        var resumable = context.Resume == StageResume.Restart ? null : features.Destination.As<IResumableWriter>(destination.Storage);
        if (resumable is null)
        {
            // Nothing is resumed here, whatever the record holds now: only what is said depends on it.
            if (existing.SinkState is not null && existing.BytesConfirmed > 0)
            {
                if (!existing.Source.SameExactlyAs(identity)) WarnNotTheSame(existing);
                else context.Logger.RestartNotResumable(Location.Redact(key.Source), context.PipelineSpec);
            }
            return await StartFreshAsync(existing, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);
        }
        // Taken before the record and its chunks are read again: a process that lost its lock may confirm chunks until
        // this moment, not after.
        var lease = await _manifest.AttachTransferAsync(existing.Id, context.SessionId, cancellationToken).ConfigureAwait(false);
        var current = await _manifest.FindTransferAsync(key, cancellationToken).ConfigureAwait(false);
        if (current?.SinkState is not { } state || current.BytesConfirmed == 0)
            return await StartFreshAsync(current, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);
        if (!current.Source.SameExactlyAs(identity))
        {
            WarnNotTheSame(current);
            return await StartFreshAsync(current, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);
        }
        var chunks = await _manifest.GetChunksAsync(current.Id, cancellationToken).ConfigureAwait(false);
        var confirmedEnd = chunks.Count == 0 ? 0 : chunks[^1].End;
        var session = await resumable.ResumeWriteAsync(destination.Path, state, confirmedEnd, request, cancellationToken).ConfigureAwait(false)
            ?? await FinishedAtDestinationAsync(destination, features, state, confirmedEnd, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            context.Observer.Warning($"{destination}: the interrupted upload session no longer exists; starting the file again from zero");
            return await StartFreshAsync(current, key, identity, writer, destination, features, request, cancellationToken).ConfigureAwait(false);
        }
        context.Logger.Resuming(Location.Redact(key.Source), confirmedEnd);
        return (lease, session, chunks);

        void WarnNotTheSame(TransferRecord record) =>
            // A source that tells neither size, version nor date (standard input, a pipe) cannot be known to be the
            // same. A nameless one is named by its store.
            context.Observer.Warning(identity.IsUnknown
                ? $"{(source.Name.Length == 0 ? source.Storage.Description : Location.Redact(key.Source))} cannot be resumed (nothing tells that it holds the same bytes as before): sending it again from the start"
                : $"{Location.Redact(key.Source)} changed since the interrupted transfer ({record.Source} -> {identity}): starting it again from zero");
    }

    /// <summary>The session is gone, but a process killed between the commit and its record in the manifest (right
    /// after S3's CompleteMultipartUpload, or the local rename) left the finished object at the destination. When an
    /// object is there, at least as long as what was confirmed, and the store reads from any offset: a session that
    /// compares the output with it instead of writing (<see cref="ComparingWriteSession"/>), so it is adopted only
    /// if it is exactly what this transfer produces. Else null.</summary>
    private async Task<IWriteSession?> FinishedAtDestinationAsync(Location destination, TransferFeatures features, string resumeState, long confirmedEnd,
        CancellationToken cancellationToken)
    {
        if (features.Destination.KeepsNothing || !features.Destination.RangedRead) return null;
        var info = await _retry.ExecuteAsync(async ct => await destination.Storage.StatAsync(destination.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return info is { IsDirectory: false } && info.Size >= confirmedEnd
            ? new ComparingWriteSession(destination.Storage, destination.Path, info, confirmedEnd, resumeState)
            : null;
    }

    /// <param name="started">The record when this run has started the transfer already (<see cref="IManifest.StartTransferIfNewAsync"/>).</param>
    private async Task<(TransferLease Lease, IWriteSession Session, IReadOnlyList<ChunkRecord> Confirmed)> StartFreshAsync(TransferRecord? stale,
        TransferKey key, SourceIdentity identity, IWritableStorage writer, Location destination, TransferFeatures features, WriteRequest request,
        CancellationToken cancellationToken, TransferRecord? started = null)
    {
        if (context.Stop.Reason is { } stopped)
            throw new LoadPipeException(ErrorKind.Quota, "not started: " + stopped);
        if (stale?.SinkState is { } state && stale.Status != TransferStatus.Completed && features.Destination.As<IResumableWriter>(destination.Storage) is { } resumable)
        {
            var old = await resumable.ResumeWriteAsync(destination.Path, state, 0, request, cancellationToken).ConfigureAwait(false);
            if (old is not null)
            {
                await TryAbortAsync(old).ConfigureAwait(false);
                await old.DisposeAsync().ConfigureAwait(false);
            }
        }
        var record = started ?? await _manifest.StartTransferAsync(key, context.SessionId, identity, cancellationToken).ConfigureAwait(false);
        var session = await _retry.ExecuteAsync(async ct => await writer.BeginWriteAsync(destination.Path, request, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        // The record starts with no sink state: only a session that has one already (an upload URL) is saved now, unless
        // a new session finds it by itself (a local partial file): it is then saved with the first confirmed chunk.
        if (session.ResumeState is { } resumeState && !session.ResumeStateIsImplied)
            await _manifest.SetSinkStateAsync(record.Lease, resumeState, cancellationToken).ConfigureAwait(false);
        return (record.Lease, session, []);
    }

    private async Task<FileResult> MoveAsync(Location source, ObjectInfo sourceInfo, Location destination, TransferFeatures features, TransferLease lease,
        IWriteSession session, IReadOnlyList<ChunkRecord> confirmed, CancellationToken cancellationToken)
    {
        var name = destination.ToString();
        context.Observer.FileStarted(name, sourceInfo.Size, confirmed.Count == 0 ? 0 : confirmed[^1].End);
        // Without stages the output is the source: a file smaller than a chunk is read and written in one block of its size
        // (chunk-size buffers, allocated and touched, were most of the work of copying a small file).
        var chunkSize = context.Stages.Count == 0 && sourceInfo.Size >= 0 ? (int)Math.Clamp(sourceInfo.Size, 1, _options.ChunkSize) : _options.ChunkSize;
        await using var sink = new ChunkedSink(session, _manifest, lease, chunkSize, confirmed, _retry, HashesFor(sourceInfo, features));
        // An object found finished at the destination is compared, not sent: none of its bytes count as sent.
        await using var counted = session is ComparingWriteSession ? null : context.Tally.Sending(sink);
        var stageContext = new StageContext();

        // Framed (no stages, or only framed ones): the output is a function of the input chunks, so the framed pump
        // regenerates exactly what an earlier run wrote, whatever chunk a kill interrupted. It restarts the source at
        // the input boundary of the newest confirmed chunk that has one, when the destination's bytes before it can be
        // read back (they rebuild the hashes); the confirmed chunks after it (a frame larger than a chunk is written
        // as a chunk without an input boundary, then its tail) are regenerated and checked, not sent. Without a
        // read-back (S3) or a ranged source it starts at zero the same way. Other pipelines replay from the start.
        long inputStart = 0;
        var framed = context.Resume == StageResume.Framed;
        if (confirmed.Count > 0)
        {
            // What the destination holds is read back and checked chunk by chunk before anything is added to it:
            // writes are made durable at commit, so after a power loss the newest chunks may be missing.
            var written = await session.OpenWrittenAsync(cancellationToken).ConfigureAwait(false);
            var boundary = framed && written is not null && features.Source.RangedRead ? LastInputBoundary(confirmed) : -1;
            if (written is not null)
            {
                await using (written.ConfigureAwait(false))
                {
                    if (boundary >= 0)
                    {
                        // A weak source version cannot vouch for the input behind the boundary: it is read again first.
                        await CheckSourceBehindConfirmedAsync(source, sourceInfo, features, confirmed.Take(boundary + 1).ToList(), chunkSize, cancellationToken).ConfigureAwait(false);
                        await FeedAsync(written, sink, confirmed[boundary].End, cancellationToken).ConfigureAwait(false);
                    }
                    await ConfirmedChunkVerifier.CheckAsync(written, confirmed, boundary + 1, cancellationToken).ConfigureAwait(false);
                }
            }
            if (boundary >= 0) inputStart = confirmed[boundary].InputEnd!.Value;
        }

        // Hashing the source separately is only needed to check a hash the source offers, through stages.
        using var sourceHash = context.Stages.Count > 0 && inputStart == 0 && sourceInfo.Hashes.Count > 0
            ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        await using var reader = new SourceReader(source.Storage, features.Source, source.Path, sourceInfo.Version, inputStart, _retry, context.Limiter);

        // A replay reads the source again from the start: blocks of a remote source are kept in the cache so that a
        // resume need not download them twice.
        var replay = !framed || (confirmed.Count > 0 && inputStart == 0);
        var cacheKey = replay && context.Cache is not null && features.Source is { RangedRead: true, CheapReads: false }
            && sourceInfo.Version is not null ? $"{source.Key}\n{sourceInfo.Version}\n{sourceInfo.Size}" : null;
        if (framed)
            await PumpFramedAsync(reader, sink, sourceHash, name, chunkSize, cacheKey, cancellationToken).ConfigureAwait(false);
        else
            await PumpStreamingAsync(reader, sink, sourceHash, stageContext, name, cacheKey, cancellationToken).ConfigureAwait(false);

        if (sourceInfo.Size >= 0 && reader.Position != sourceInfo.Size)
            throw new SourceChangedException($"read {reader.Position} bytes but the source said it has {sourceInfo.Size}");
        CheckSourceHash(source, sourceInfo, sourceHash is null ? (context.Stages.Count == 0 ? sink.Md5 : null) : Convert.ToHexStringLower(sourceHash.GetCurrentHash()), inputStart == 0 || context.Stages.Count == 0);

        await CheckSourceUnchangedAsync(source, sourceInfo, cancellationToken).ConfigureAwait(false);
        // Nothing more is read or sent: a run of one file says so (a worker then starts its next job while this one's
        // commit, its fsync, runs). A found object compared instead of sent may still turn out different, and be sent.
        if (context.OneFile && session is not ComparingWriteSession) context.Observer.OnlyFileCommitting();
        var committed = await _retry.ExecuteAsync(async ct => await session.CommitAsync(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (_options.VerifyAfterCommit && !features.Destination.KeepsNothing && sink.Sha256 is { } sha256)
            await VerifyDestinationAsync(destination, sha256, cancellationToken).ConfigureAwait(false);
        var completion = new TransferCompletion(sink.Position, sink.Md5, sink.Sha256);
        var dedup = features.Destination.As<IDeduplicatingWriter>(destination.Storage);
        // A run of one file may hold its end back for the caller to record with its own (a worker: with the job's end).
        if (!(context.OneFile && dedup is null && _options.HoldEnd is { } hold && hold.TryHold(_manifest, lease, completion)))
            await _manifest.CompleteTransferAsync(lease, completion, CancellationToken.None).ConfigureAwait(false);
        if (dedup is not null)
        {
            var written = Request(source, sourceInfo, features) with
            {
                ExpectedSize = sink.Position,
                Hashes = new[] { ("md5", sink.Md5), ("sha256", sink.Sha256) }.Where(h => h.Item2 is not null).ToDictionary(h => h.Item1, h => h.Item2!),
            };
            await dedup.RememberAsync(destination.Path, written, committed, CancellationToken.None).ConfigureAwait(false);
        }
        // An object found finished at the destination was compared, not sent: all of it was there before this run.
        var found = session is ComparingWriteSession;
        context.Logger.Committed(destination.ToString(), sink.Position, found ? 0 : sink.BytesSent);
        return new FileResult(source.ToString(), destination.ToString(), FileOutcome.Copied)
        {
            Bytes = sink.Position,
            BytesSent = found ? 0 : sink.BytesSent,
            BytesResumed = found ? sink.Position : sink.BytesResumed,
            Md5 = sink.Md5,
            Sha256 = sink.Sha256,
            Reports = committed.Properties.Count == 0 ? stageContext.Reports
                : stageContext.Reports.Concat(committed.Properties).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value),
        };
    }

    /// <summary>The hashes asked for, plus MD5 where it is needed: to check the MD5 a source offers (no stages between),
    /// and for a store that finds duplicates by it; SHA-256 for --checksum, which compares it.</summary>
    private ContentHashes HashesFor(ObjectInfo sourceInfo, TransferFeatures features)
    {
        var hashes = _options.Hashes;
        if (context.Stages.Count == 0 && sourceInfo.Hashes.ContainsKey("md5")) hashes |= ContentHashes.Md5;
        if (features.Destination.DeduplicatingWriter) hashes |= ContentHashes.Md5;
        if (_options.VerifyAfterCommit) hashes |= ContentHashes.Sha256;
        return hashes;
    }

    private WriteRequest Request(Location source, ObjectInfo sourceInfo, TransferFeatures features) => new()
    {
        ExpectedSize = context.Stages.Count == 0 ? sourceInfo.Size : -1,
        Modified = sourceInfo.Modified,
        // A stream read once (standard input) is no place to name.
        Source = features.Source.ReadOnce ? null : Location.Redact(source.Uri),
        Hashes = context.Stages.Count == 0 ? sourceInfo.Hashes : new Dictionary<string, string>(),
        Metadata = _options.Metadata.AsReadOnly(),
    };

    /// <summary>The request with the content's MD5: the source's own, or read from a source that costs nothing to
    /// read (a local file) once more. Otherwise as it was: the store cannot look for a duplicate.</summary>
    private static async Task<WriteRequest> WithContentHashAsync(Location source, ObjectInfo sourceInfo, WriteRequest request, TransferFeatures features,
        CancellationToken cancellationToken)
    {
        if (request.Hashes.ContainsKey("md5") || features.Source is not { CheapReads: true, ReadOnce: false }) return request;
        await using var stream = await source.Storage.OpenReadAsync(source.Path, new ReadOptions(IfVersion: sourceInfo.Version), cancellationToken).ConfigureAwait(false);
        var md5 = Convert.ToHexStringLower(await MD5.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        return request with { Hashes = new Dictionary<string, string>(request.Hashes) { ["md5"] = md5 } };
    }

    /// <summary>The destination already holds this content: recorded as complete, reported as skipped with what the
    /// store says of its copy (a video id).</summary>
    private async Task<FileResult> DuplicateAsync(Location source, ObjectInfo sourceInfo, Location destination, TransferKey key,
        SourceIdentity identity, WriteRequest request, ObjectInfo duplicate, CancellationToken cancellationToken)
    {
        request.Hashes.TryGetValue("md5", out var md5);
        request.Hashes.TryGetValue("sha256", out var sha256);
        var record = await _manifest.StartTransferAsync(key, context.SessionId, identity, cancellationToken).ConfigureAwait(false);
        await _manifest.CompleteTransferAsync(record.Lease, new TransferCompletion(sourceInfo.Size, md5, sha256), cancellationToken).ConfigureAwait(false);
        context.Logger.Duplicate(source.ToString(), destination.ToString(), duplicate.Path);
        return new FileResult(source.ToString(), destination.ToString(), FileOutcome.Skipped)
        {
            Bytes = sourceInfo.Size,
            Md5 = md5,
            Sha256 = sha256,
            Reports = new Dictionary<string, string>(duplicate.Properties) { ["duplicate_of"] = duplicate.Path },
        };
    }

    /// <summary>
    /// After the last read and before the commit: a source rewritten in place while it was read gives bytes of two
    /// contents, which no read can tell. A fresh stat that no longer matches the identity the transfer started with
    /// (for a local file its change time too, which every write sets) throws <see cref="SourceChangedException"/>:
    /// the file starts again from zero, once. A store whose reads return one version whole, however long they take
    /// (<see cref="ISnapshotReads"/>), is not asked again; nor is a source with an unknown identity (standard input),
    /// which no stat could tell changed.
    /// </summary>
    private async Task CheckSourceUnchangedAsync(Location source, ObjectInfo sourceInfo, CancellationToken cancellationToken)
    {
        if (Identity(sourceInfo).IsUnknown || source.Storage is ISnapshotReads) return;
        var now = await StatAsync(source, cancellationToken).ConfigureAwait(false);
        if (!Identity(now).SameExactlyAs(Identity(sourceInfo)))
            throw new SourceChangedException($"changed while it was read ({Identity(sourceInfo)} -> {Identity(now)})");
    }

    /// <summary>
    /// A framed resume appends to what an earlier run sent, reading the source from the last confirmed input offset.
    /// When the source's version is weak (<see cref="ObjectInfo.WeakVersion"/>, or none) it cannot say that the bytes
    /// before that offset are still the ones sent, so the input behind the last confirmed chunks (back to the input
    /// boundary before them) is read again, framed as the pump frames it, and compared with their recorded XXH3. A
    /// mismatch throws <see cref="SourceChangedException"/>: the file starts again from zero. A change further back,
    /// with these bytes intact, is not seen (docs/architecture.md, "What a changed source can hide").
    /// </summary>
    private async Task CheckSourceBehindConfirmedAsync(Location source, ObjectInfo sourceInfo, TransferFeatures features, IReadOnlyList<ChunkRecord> confirmed,
        int chunkSize, CancellationToken cancellationToken)
    {
        if (features.Source.ReadOnce || (sourceInfo.Version is not null && !sourceInfo.WeakVersion)) return;
        var first = confirmed.Count - 1;
        while (first > 0 && confirmed[first - 1].InputEnd is null) first--;
        var inputFrom = first == 0 ? 0 : confirmed[first - 1].InputEnd!.Value;
        var inputTo = confirmed[^1].InputEnd!.Value;
        var framed = context.Stages.Cast<IFramedStage>().ToArray();
        using var chunk = new FramedChunk(chunkSize, framed.Length);
        var from = inputFrom;
        var verifier = new ConfirmedChunkVerifier(confirmed, first, (_, _) => Changed(from));
        await using var reader = new SourceReader(source.Storage, features.Source, source.Path, sourceInfo.Version, inputFrom, _retry, context.Limiter);
        while (reader.Position < inputTo)
        {
            var want = (int)Math.Min(chunkSize, inputTo - reader.Position);
            from = reader.Position;
            chunk.Count = await reader.ReadBlockAsync(chunk.Input.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
            if (chunk.Count < want)
                throw new SourceChangedException($"it ends at byte {reader.Position}, before the {inputTo} bytes an earlier run sent of it");
            var output = framed.Length == 0 ? chunk.Input.AsMemory(0, chunk.Count) : chunk.Frame(framed);
            if (verifier.Append(output.Span) < output.Length) throw Changed(from);
        }
        if (!verifier.Done) throw Changed(inputFrom);

        SourceChangedException Changed(long at) => new(
            $"its bytes from {at} differ from those an earlier run sent (its version, {sourceInfo.Version ?? "none"}, cannot tell a change)");
    }

    /// <summary>The index of the newest confirmed chunk that ends on an input boundary, or -1.</summary>
    private static int LastInputBoundary(IReadOnlyList<ChunkRecord> confirmed)
    {
        for (var i = confirmed.Count - 1; i >= 0; i--)
            if (confirmed[i].InputEnd is not null) return i;
        return -1;
    }

    /// <summary>Feeds the sink the destination's confirmed bytes up to <paramref name="end"/> (a chunk's end), which it
    /// checks and hashes.</summary>
    private static async Task FeedAsync(Stream written, ChunkedSink sink, long end, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (sink.Position < end)
            {
                var n = await written.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, end - sink.Position)), cancellationToken).ConfigureAwait(false);
                if (n == 0) throw new ResumeMismatchException("the destination holds fewer bytes than the manifest confirmed", sink.VerifiedChunks);
                await sink.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>No stages, or only framed ones: read a chunk, frame it through each stage, write, checkpoint.
    /// Reading runs ahead of writing, in order, into a fixed set of chunk buffers; with stages each chunk is framed on
    /// the thread pool as soon as it is read, so while the oldest chunk is written the next ones are framed in
    /// parallel (one frame per chunk, so they do not depend on each other). Chunks are written and checkpointed in
    /// input order; memory is bounded by the number of buffers. <paramref name="chunkSize"/> is the sink's (see
    /// <see cref="MoveAsync"/>: smaller than the option for a small source without stages). With
    /// <paramref name="cacheKey"/> (a replay of a remote source) each chunk is read through the cache.</summary>
    private async Task PumpFramedAsync(SourceReader reader, ChunkedSink sink, IncrementalHash? sourceHash, string name, int chunkSize,
        string? cacheKey, CancellationToken cancellationToken)
    {
        var framed = context.Stages.Cast<IFramedStage>().ToArray();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = stop.Token;
        var chunks = new FramedChunk[framed.Length == 0 ? 2 : Math.Max(2, Math.Min(Environment.ProcessorCount + 1, FramedInputBudget / chunkSize))];
        var order = new Queue<FramedChunk>(chunks.Length);
        var lastRead = Task.CompletedTask;
        var ended = false;
        try
        {
            for (var i = 0; i < chunks.Length; i++) Start(chunks[i] = new FramedChunk(chunkSize, framed.Length));
            while (true)
            {
                var chunk = order.Dequeue();
                var data = await chunk.Work.ConfigureAwait(false);
                if (chunk.Count == 0) break;
                // Without stages the chunk read is the chunk written: the sink takes the buffer instead of a copy of it.
                if (framed.Length == 0 && sink.TryTakeChunk(chunk.Input, chunk.Count) is { } spare) chunk.Input = spare;
                else await sink.WriteAsync(data, ct).ConfigureAwait(false);
                await sink.CheckpointAsync(chunk.InputEnd, ct).ConfigureAwait(false);
                context.Observer.FileProgress(name, chunk.InputEnd);
                Start(chunk);
            }
            await sink.CompleteAsync(reader.Position, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Reads and encodes still running use the buffers: they end (or fail, already reported) before the buffers go back.
            foreach (var chunk in chunks)
            {
                if (chunk is null) continue;
                try { await chunk.Work.ConfigureAwait(false); } catch { /* the first failure is the one to report */ }
                chunk.Dispose();
            }
        }

        // Reads are chained so the source is read in order; a failed read fails every read after it.
        void Start(FramedChunk chunk)
        {
            var read = lastRead = ReadChunkAsync(lastRead, chunk);
            chunk.Work = FrameChunkAsync(read, chunk);
            order.Enqueue(chunk);
        }

        async Task ReadChunkAsync(Task previous, FramedChunk chunk)
        {
            await previous.ConfigureAwait(false);
            chunk.Count = ended ? 0
                : cacheKey is null ? await reader.ReadBlockAsync(chunk.Input.AsMemory(0, chunkSize), ct).ConfigureAwait(false)
                : await ReadThroughCacheAsync(reader, chunk.Input.AsMemory(0, chunkSize), cacheKey, ct).ConfigureAwait(false);
            chunk.InputEnd = reader.Position;
            ended = chunk.Count < chunkSize;
            sourceHash?.AppendData(chunk.Input, 0, chunk.Count);
        }

        async Task<ReadOnlyMemory<byte>> FrameChunkAsync(Task read, FramedChunk chunk)
        {
            await read.ConfigureAwait(false);
            if (chunk.Count == 0 || framed.Length == 0) return chunk.Input.AsMemory(0, chunk.Count);
            return await Task.Run(() => chunk.Frame(framed), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Input bytes the framed pump may hold when it has stages: one chunk being written, the rest read and
    /// framed ahead, each on its own thread, at most one more than there are cores and never fewer than two. Three
    /// default chunks: two cores frame while the oldest chunk is written. Each chunk also holds its frames.</summary>
    private const int FramedInputBudget = 3 * TransferDefaults.ChunkSize;

    /// <summary>One input chunk of the framed pump, its frames (one buffer per stage, reused) and the work that fills them.</summary>
    private sealed class FramedChunk(int chunkSize, int stages) : IDisposable
    {
        private readonly FrameBuffer[] _frames = Enumerable.Range(0, stages).Select(_ => new FrameBuffer()).ToArray();

        /// <summary>The buffer the chunk is read into; exchanged for the sink's when the sink takes it (no stages).</summary>
        public byte[] Input { get; set; } = ChunkPool.Rent(chunkSize);

        public int Count { get; set; }

        /// <summary>The source offset at the end of this chunk: its checkpoint.</summary>
        public long InputEnd { get; set; }

        /// <summary>Reads the chunk, then frames it; gives the bytes to write.</summary>
        public Task<ReadOnlyMemory<byte>> Work { get; set; } = Task.FromResult(ReadOnlyMemory<byte>.Empty);

        public ReadOnlyMemory<byte> Frame(IFramedStage[] stages)
        {
            ReadOnlySpan<byte> data = Input.AsSpan(0, Count);
            for (var i = 0; i < stages.Length; i++)
            {
                _frames[i].Reset();
                FrameEncoding.Encode(stages[i], data, _frames[i]);
                data = _frames[i].WrittenSpan;
            }
            return _frames[^1].WrittenMemory;
        }

        public void Dispose() => ChunkPool.Return(Input);
    }

    /// <summary>Any stage: source -> pipe -> stage -> pipe -> ... -> sink, each stage on its own task, each pipe
    /// bounded so a fast stage waits for a slow one instead of filling memory.</summary>
    private async Task PumpStreamingAsync(SourceReader reader, ChunkedSink sink, IncrementalHash? sourceHash, StageContext stageContext,
        string name, string? cacheKey, CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = failed.Token;
        var pipes = Enumerable.Range(0, context.Stages.Count + 1)
            .Select(_ => new Pipe(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20, useSynchronizationContext: false)))
            .ToArray();
        var tasks = new List<Task>
        {
            Guard(pipes[0].Writer, null, async () =>
            {
                var cached = cacheKey is not null;
                var block = cached ? _options.ChunkSize : 1 << 20;
                var buffer = ArrayPool<byte>.Shared.Rent(block);
                try
                {
                    while (true)
                    {
                        var n = cached
                            ? await ReadThroughCacheAsync(reader, buffer.AsMemory(0, block), cacheKey!, ct).ConfigureAwait(false)
                            : await reader.ReadAsync(buffer.AsMemory(0, block), ct).ConfigureAwait(false);
                        if (n == 0) break;
                        sourceHash?.AppendData(buffer, 0, n);
                        var flush = await pipes[0].Writer.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        context.Observer.FileProgress(name, reader.Position);
                        if (flush.IsCompleted) break;
                    }
                }
                finally { ArrayPool<byte>.Shared.Return(buffer); }
            }),
        };
        for (var i = 0; i < context.Stages.Count; i++)
        {
            var stage = context.Stages[i];
            var input = pipes[i].Reader;
            var output = pipes[i + 1].Writer;
            tasks.Add(Guard(output, input, () => stage.RunAsync(input.AsStream(leaveOpen: true), output.AsStream(leaveOpen: true), stageContext, ct)));
        }
        var last = pipes[^1].Reader;
        tasks.Add(Guard(null, last, async () =>
        {
            while (true)
            {
                var result = await last.ReadAsync(ct).ConfigureAwait(false);
                foreach (var segment in result.Buffer) await sink.WriteAsync(segment, ct).ConfigureAwait(false);
                last.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) break;
            }
        }));

        async Task Guard(PipeWriter? output, PipeReader? input, Func<Task> body)
        {
            try
            {
                await Task.Run(body, ct).ConfigureAwait(false);
                if (output is not null) await output.CompleteAsync().ConfigureAwait(false);
                if (input is not null) await input.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await failed.CancelAsync().ConfigureAwait(false);
                if (output is not null) await output.CompleteAsync(e).ConfigureAwait(false);
                if (input is not null) await input.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch
        {
            // Report the cause, not the cancellations it set off in the other tasks.
            var cause = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!)
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (cause is not null && !cancellationToken.IsCancellationRequested)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cause).Throw();
            throw;
        }
        await sink.CompleteAsync(reader.Position, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fills <paramref name="buffer"/> with the block at the reader's position, from the cache when it
    /// has it (the reader skips ahead), else from the source (and the block is cached). 0 at the end.</summary>
    private async Task<int> ReadThroughCacheAsync(SourceReader reader, Memory<byte> buffer, string sourceKey, CancellationToken cancellationToken)
    {
        var key = $"{sourceKey}\n{reader.Position}\n{buffer.Length}";
        var entry = context.Cache!.TryOpen(key);
        if (entry is not null)
        {
            await using (entry.ConfigureAwait(false))
            {
                var total = 0;
                int n;
                while (total < buffer.Length && (n = await entry.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false)) > 0) total += n;
                await reader.SkipAsync(total).ConfigureAwait(false);
                return total;
            }
        }
        var read = await reader.ReadBlockAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0) await context.Cache.PutAsync(key, buffer[..read], cancellationToken).ConfigureAwait(false);
        return read;
    }

    private static void CheckSourceHash(Location source, ObjectInfo info, string? md5, bool complete)
    {
        if (!complete || md5 is null || !info.Hashes.TryGetValue("md5", out var expected)) return;
        if (!string.Equals(expected, md5, StringComparison.OrdinalIgnoreCase))
            throw new LoadPipeException(ErrorKind.Integrity, $"{source}: MD5 of the bytes read ({md5}) differs from the source's ({expected})");
    }

    private async Task VerifyDestinationAsync(Location destination, string sha256, CancellationToken cancellationToken)
    {
        await using var stream = await destination.Storage.OpenReadAsync(destination.Path, ReadOptions.FromStart, cancellationToken).ConfigureAwait(false);
        var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        if (actual != sha256)
            throw new LoadPipeException(ErrorKind.Integrity, $"{destination}: SHA-256 read back ({actual}) differs from what was sent ({sha256})");
    }

    private async Task<ObjectInfo> StatAsync(Location location, CancellationToken cancellationToken) =>
        await _retry.ExecuteAsync(async ct => await location.Storage.StatAsync(location.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
        ?? throw new LoadPipeException(ErrorKind.NotFound, $"{location}: not found");

    private static async Task TryAbortAsync(IWriteSession session)
    {
        try { await session.AbortAsync(CancellationToken.None).ConfigureAwait(false); }
        catch (Exception) { /* best effort: an abandoned session expires or is cleaned up */ }
    }
}
