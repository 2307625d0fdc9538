using System.Data.Common;
using System.Diagnostics;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Filters;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Resilience;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// Copies a file or a folder tree from one location to another through stages, with the manifest as memory.
/// <code>
/// await using var manifest = await SqliteManifest.OpenAsync("state.db");
/// var engine = new TransferEngine(manifest);
/// var summary = await engine.CopyAsync(resolver.Resolve("big.iso"), resolver.Resolve("/backup/"), new TransferOptions());
/// </code>
/// </summary>
public sealed class TransferEngine(IManifest manifest, StageCatalog? stages = null, ILogger? logger = null, TimeProvider? timeProvider = null)
{
    private const int FailuresKept = 20;
    private readonly StageCatalog _stages = stages ?? new StageCatalog();
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public Task<TransferSummary> CopyAsync(Location source, Location destination, TransferOptions options,
        ITransferObserver? observer = null, CancellationToken cancellationToken = default) =>
        CopyAsync(null, source, destination, options, observer, cancellationToken);

    /// <summary>
    /// Copies as part of session <paramref name="sessionId"/>, which the caller began, holds the lock of
    /// (<see cref="ManifestQueries.SessionLock"/>) and ends: the engine records this run's files in it, but neither
    /// its counts nor its end. `lp worker` runs every job of its life in one session of its own, so that a job's run
    /// costs no session row, lock or end of its own (four statements of the ~14 of an empty job on PostgreSQL).
    /// </summary>
    public Task<TransferSummary> CopyInSessionAsync(long sessionId, Location source, Location destination, TransferOptions options,
        ITransferObserver? observer = null, CancellationToken cancellationToken = default) =>
        CopyAsync(sessionId, source, destination, options, observer, cancellationToken);

    private async Task<TransferSummary> CopyAsync(long? givenSession, Location source, Location destination, TransferOptions options,
        ITransferObserver? observer, CancellationToken cancellationToken)
    {
        observer ??= new NullObserver();
        var pipeline = _stages.ParseAll(options.Stages);
        var filter = new GlobFilter(options.Include, options.Exclude, options.Extensions);
        var retry = RetryPolicy.Create(options.Retries, options.RetryDelay, options.MaxRetryDelay, _time,
            (e, attempt, delay) => _logger.Retrying(attempt, e.Message, delay));
        var limiter = options.BandwidthLimit > 0 ? new BandwidthLimiter(options.BandwidthLimit, _time) : null;

        // Taken once for the run: every file of it is on these two stores.
        var features = TransferFeatures.Of(source, destination);
        var sourceInfo = await retry.ExecuteAsync(async ct => await source.Storage.StatAsync(source.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.NotFound, $"{source}: no such file or folder");
        if (!features.Destination.Write)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination}: {destination.Storage.Description} cannot be written to");
        if (sourceInfo.IsDirectory && features.Destination.KeepsNothing)
            throw new LoadPipeException(ErrorKind.Usage, $"{source} is a folder: it cannot be written to {destination} ({destination.Storage.Description}), which takes one file");
        if (sourceInfo.SpecialFileKind is { } special)
            throw new LoadPipeException(ErrorKind.Usage, $"{source} is {special}, not a regular file: give it as stdin instead (`lp copy - DEST < {source.Name}`)");
        var inside = await DestinationInsideSourceAsync(source, sourceInfo, destination, features, retry, cancellationToken).ConfigureAwait(false);
        if (inside is not null) observer.Warning($"{destination} is inside {source}: it is left out of the copy");

        long sessionId;
        try
        {
            sessionId = givenSession ?? await manifest.BeginSessionAsync(new SessionStart(options.Command, source.Key, destination.Key, options.Project, options.ConfigSnapshot), cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            throw ManifestFailed(e);
        }
        var pipelineSpec = string.Join(" | ", pipeline.Select(s => s.Spec));
        var plan = Plan(source, sourceInfo, destination, features, inside, filter, sessionId, pipelineSpec, options.TrustManifest, retry, observer, cancellationToken);
        return await RunAsync(plan, sessionId, null, options, pipeline, retry, limiter, observer, cancellationToken, ownSession: givenSession is null,
            oneFile: !sourceInfo.IsDirectory).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the given pairs again as part of an existing session (`lp retry`): each source is stat'ed afresh, and
    /// the session's counts become its earlier ones with these files' new outcomes.
    /// </summary>
    public async Task<TransferSummary> RetryAsync(long sessionId, IReadOnlyList<(Location From, Location To)> pairs, TransferOptions options,
        ITransferObserver? observer = null, CancellationToken cancellationToken = default)
    {
        SessionRecord? baseline;
        try
        {
            baseline = await manifest.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            throw ManifestFailed(e);
        }
        if (baseline is null) throw new LoadPipeException(ErrorKind.NotFound, $"session {sessionId} does not exist");
        var retry = RetryPolicy.Create(options.Retries, options.RetryDelay, options.MaxRetryDelay, _time,
            (e, attempt, delay) => _logger.Retrying(attempt, e.Message, delay));
        var limiter = options.BandwidthLimit > 0 ? new BandwidthLimiter(options.BandwidthLimit, _time) : null;
        var plan = pairs.Select(p => new PlannedFile(p.From, null, p.To, DestinationHint.Unknown, TransferFeatures.Of(p.From, p.To))).ToAsyncEnumerable();
        return await RunAsync(plan, sessionId, baseline, options, _stages.ParseAll(options.Stages), retry, limiter, observer ?? new NullObserver(), cancellationToken).ConfigureAwait(false);
    }

    private async Task<TransferSummary> RunAsync(IAsyncEnumerable<PlannedFile> plan, long sessionId, SessionRecord? baseline,
        TransferOptions options, IReadOnlyList<IStage> pipeline, Polly.ResiliencePipeline retry, BandwidthLimiter? limiter, ITransferObserver observer,
        CancellationToken cancellationToken, bool ownSession = true, bool oneFile = false)
    {
        var stopwatch = Stopwatch.StartNew();
        // Held until the session's end is recorded, so `lp status` can tell a running session from a killed one. A
        // session the caller owns is its to hold, count and end.
        await using var alive = ownSession ? await manifest.TryLockAsync(ManifestQueries.SessionLock(sessionId), cancellationToken).ConfigureAwait(false) : null;
        var cache = options.CacheDirectory is { } cacheDir ? new Caching.DiskCache(cacheDir, options.CacheLimit) : null;
        var context = new TransferContext(manifest, options, pipeline, retry, limiter, observer, cache, _logger, sessionId) { Time = _time, OneFile = oneFile };
        var transfer = new FileTransfer(context);
        var tally = context.Tally;
        var failures = new List<FileResult>();
        // Files another process sharing the manifest was working on when their turn came: put aside, and waited for
        // once everything else is done, so that processes sharing a folder share the work instead of waiting on each other.
        var inProgressElsewhere = new System.Collections.Concurrent.ConcurrentQueue<PlannedFile>();

        // Small files to a store that commits in batches (local disk) are staged and committed together; the others,
        // and any a batch lets go, run one by one.
        GroupCommit grouped = null!;
        grouped = new GroupCommit(context, (item, ct) => RunOne(item, false, ct, mayGroup: false), Count, cancellationToken);
        await using var groupedUntilTheEnd = grouped;

        async ValueTask RunOne(PlannedFile item, bool waitIfInProgress, CancellationToken ct, bool mayGroup = true)
        {
            FileResult result;
            // The plan reported what it listed; files planned without a stat (lp retry's) are reported here, once stat'ed.
            var planned = item.Info is not null;
            try
            {
                var info = item.Info ?? await retry.ExecuteAsync(async c => await item.From.Storage.StatAsync(item.From.Path, c).ConfigureAwait(false), ct).ConfigureAwait(false)
                    ?? throw new LoadPipeException(ErrorKind.NotFound, $"{item.From}: no such file");
                if (!planned) observer.FilePlanned(info.Size);
                planned = true;
                if (mayGroup && !waitIfInProgress && grouped.Accepts(item) && await grouped.TryStageAsync(item, ct).ConfigureAwait(false)) return;
                try
                {
                    result = await transfer.RunAsync(item.From, info, item.To, item.Hint, item.Features, waitIfInProgress, ct).ConfigureAwait(false);
                }
                catch (TransferInProgressException) when (!waitIfInProgress)
                {
                    inProgressElsewhere.Enqueue(item with { Info = info, Hint = DestinationHint.Unknown });
                    return;
                }
            }
            catch (Exception e) when (e is not DbException && (e is not OperationCanceledException || !ct.IsCancellationRequested))
            {
                if (!planned) observer.FilePlanned(-1);
                var message = e is LoadPipeException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                _logger.FileFailed(item.From.ToString(), item.To.ToString(), message);
                result = new FileResult(item.From.ToString(), item.To.ToString(), FileOutcome.Failed)
                {
                    Error = message,
                    ErrorKind = (e as LoadPipeException)?.Kind ?? ErrorKind.Permanent,
                };
            }
            Count(result);
        }

        // Files the manifest settled need no worker: they are counted as the plan streams, one after another, without
        // a task each (a re-run of 100,000 unchanged files is then a loop, not 100,000 hand-offs between workers).
        async IAsyncEnumerable<PlannedFile> Unsettled([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var item in plan.WithCancellation(ct).ConfigureAwait(false))
            {
                if (item.Info is { } info && transfer.TrySettle(item.From, info, item.To, item.Hint) is { } settled) Count(settled);
                else yield return item;
            }
        }

        void Count(FileResult result)
        {
            if (result.ErrorKind == ErrorKind.Quota && result.Error is { } reason) context.Stop.Set(reason);
            tally.Finished(result);
            if (result.Outcome == FileOutcome.Failed)
                lock (failures) if (failures.Count < FailuresKept) failures.Add(result);
            observer.FileFinished(result);
        }

        SessionStatus status;
        using (var recording = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var counts = ownSession ? RecordCountsAsync(sessionId, baseline, tally, recording.Token) : Task.CompletedTask;
            try
            {
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Transfers, CancellationToken = cancellationToken };
                await Parallel.ForEachAsync(Unsettled(cancellationToken), parallel, (item, ct) => RunOne(item, false, ct)).ConfigureAwait(false);
                // Before the files put aside: a batch whose commit failed may put some of its files aside too.
                await grouped.DrainAsync().ConfigureAwait(false);
                await Parallel.ForEachAsync(inProgressElsewhere, parallel, (item, ct) => RunOne(item, true, ct)).ConfigureAwait(false);
                status = SessionStatuses.Of(tally.FilesFailed, tally.Files);
            }
            catch (OperationCanceledException)
            {
                status = SessionStatus.Interrupted;
            }
            catch (DbException e)
            {
                // Recording the end may fail as the rest did: the session then shows as interrupted (its lock is gone).
                await recording.CancelAsync().ConfigureAwait(false);
                await counts.ConfigureAwait(false);
                if (ownSession)
                {
                    try { await EndAsync(SessionStatus.Failed).ConfigureAwait(false); } catch (DbException) { }
                }
                throw ManifestFailed(e);
            }
            // Stopped before the end is recorded, so that no count from a moment before can follow it.
            await recording.CancelAsync().ConfigureAwait(false);
            await counts.ConfigureAwait(false);
        }
        try
        {
            if (ownSession) await EndAsync(status).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            throw ManifestFailed(e);
        }

        var summary = new TransferSummary
        {
            Status = status,
            Files = tally.Files,
            FilesSkipped = tally.FilesSkipped,
            FilesFailed = tally.FilesFailed,
            Bytes = tally.Bytes,
            BytesSent = tally.BytesSent,
            BytesResumed = tally.BytesResumed,
            DurationSeconds = stopwatch.Elapsed.TotalSeconds,
            Session = sessionId,
            StopReason = context.Stop.Reason,
            Failures = failures,
        };
        return status == SessionStatus.Interrupted ? throw new TransferInterruptedException(summary, cancellationToken) : summary;

        Task EndAsync(SessionStatus outcome)
        {
            var counts = SessionCountsOf(baseline, tally);
            // A retry that ran to its end: the session's status is judged from all its files, the earlier ones included.
            var recorded = baseline is null || outcome == SessionStatus.Interrupted ? outcome : SessionStatuses.Of(counts.FilesFailed, counts.Files);
            return manifest.EndSessionAsync(sessionId, new SessionSummary(recorded, counts.Files, counts.FilesSkipped, counts.FilesFailed,
                counts.Bytes, counts.BytesSent), CancellationToken.None);
        }
    }

    /// <summary>How often a running session's counts are saved in the manifest (one small update each time they changed).</summary>
    private static readonly TimeSpan CountsInterval = TimeSpan.FromSeconds(1);

    /// <summary>Saves the session's counts every <see cref="CountsInterval"/> while it runs, so that a run killed before
    /// it could record its end (kill -9) still shows about what it did. Ends when <paramref name="cancellationToken"/> is
    /// cancelled; a failure only ends the saving (the run's own calls meet the same failure).</summary>
    private async Task RecordCountsAsync(long sessionId, SessionRecord? baseline, SessionTally tally, CancellationToken cancellationToken)
    {
        SessionCounts? recorded = null;
        try
        {
            using var timer = new PeriodicTimer(CountsInterval, _time);
            using var stop = timer.StopOn(cancellationToken);
            while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
            {
                var counts = SessionCountsOf(baseline, tally);
                if (counts == recorded) continue;
                await manifest.RecordSessionCountsAsync(sessionId, counts, cancellationToken).ConfigureAwait(false);
                recorded = counts;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is DbException or LoadPipeException)
        {
        }
    }

    /// <summary>The session's counts: this run's, or for a retry its earlier ones with the retried files' new outcomes
    /// (they succeed or fail anew; files a killed run had only planned, pending, were not in its counts and join them).</summary>
    private static SessionCounts SessionCountsOf(SessionRecord? baseline, SessionTally tally)
    {
        var now = tally.Counts();
        if (baseline is null) return now;
        var stillFailed = Math.Max(0, baseline.FilesFailed - (now.Files - now.FilesFailed));
        return new SessionCounts(baseline.Files, baseline.FilesSkipped, stillFailed, baseline.Bytes + now.Bytes, baseline.BytesSent + now.BytesSent);
    }

    private ManifestFailedException ManifestFailed(DbException e) =>
        new($"manifest {manifest.Description}: {e.Message.Split('\n')[0].TrimEnd()} (the run stopped: nothing more could be recorded)", e);

    /// <summary>Pairs each source file with its destination, lazily: a 300k-file tree is never held in memory.
    /// Files are looked up in the manifest in batches: one it recorded as completed from an unchanged source is
    /// settled there (with <see cref="TransferOptions.TrustManifest"/>). For the others, when both sides list in
    /// <see cref="PathOrder"/>, the destination's listing is merged in as it streams, so what is already there is
    /// known without a request per file; a re-run where the manifest settles every file lists nothing.</summary>
    private async IAsyncEnumerable<PlannedFile> Plan(Location source, ObjectInfo sourceInfo, Location destination, TransferFeatures features, string? leftOut,
        GlobFilter filter, long sessionId, string pipelineSpec, bool trustManifest, Polly.ResiliencePipeline retry, ITransferObserver observer,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!sourceInfo.IsDirectory)
        {
            // Filters match names: an object without one (standard input) is not filtered.
            if (source.Name.Length > 0 && !filter.Matches(source.Name)) yield break;
            observer.FilePlanned(sourceInfo.Size);
            yield return new PlannedFile(source, sourceInfo, await FileDestinationAsync(source, destination, features, retry, cancellationToken).ConfigureAwait(false),
                DestinationHint.Unknown, features);
            yield break;
        }
        await using var existing = new DestinationListing(destination, features, _logger, cancellationToken);
        var batch = new List<PlannedFile>(PlanBatch);
        // One batch is looked up (on another thread) while the next is listed: the stats and the manifest's lookups
        // then use both cores. Batches are settled one at a time and in order (the destination's listing is merged in
        // path order), and at most two are held.
        Task<List<PlannedFile>>? settling = null;
        try
        {
            await foreach (var entry in source.Storage.ListAsync(source.Path, recursive: true, cancellationToken).ConfigureAwait(false))
            {
                if (entry.IsDirectory || !filter.Matches(entry.Path)) continue;
                if (leftOut is not null && (entry.Path == leftOut || entry.Path.StartsWith(leftOut + "/", StringComparison.Ordinal))) continue;
                if (entry.SpecialFileKind is { } special)
                {
                    observer.Warning($"{source.Child(entry.Path)}: skipped, {special} is not a regular file");
                    continue;
                }
                observer.FilePlanned(entry.Size);
                batch.Add(new PlannedFile(source.Child(entry.Path), entry, destination.Child(entry.Path), DestinationHint.Unknown, features));
                if (batch.Count < PlanBatch) continue;
                var settled = settling is null ? null : await settling.ConfigureAwait(false);
                var full = batch;
                settling = Task.Run(() => SettleAsync(full, existing, sessionId, pipelineSpec, trustManifest, cancellationToken), cancellationToken);
                batch = new List<PlannedFile>(PlanBatch);
                if (settled is not null) foreach (var file in settled) yield return file;
            }
            if (settling is not null)
            {
                var settled = await settling.ConfigureAwait(false);
                settling = null;
                foreach (var file in settled) yield return file;
            }
            foreach (var file in await SettleAsync(batch, existing, sessionId, pipelineSpec, trustManifest, cancellationToken).ConfigureAwait(false)) yield return file;
        }
        finally
        {
            // Stopped early (a failure, a cancellation): the lookup in flight ends before the listing it reads is disposed.
            if (settling is not null) await settling.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private const int PlanBatch = 500;

    /// <summary>Adds to each planned file what the manifest (one query for the batch) and the destination's listing
    /// know of it. The listing is consulted, in path order, only for files the manifest does not settle.</summary>
    private async Task<List<PlannedFile>> SettleAsync(List<PlannedFile> batch, DestinationListing existing, long sessionId, string pipelineSpec,
        bool trustManifest, CancellationToken cancellationToken)
    {
        if (batch.Count == 0) return batch;
        var known = await manifest.FindTransfersAsync(batch.Select(Key).ToList(), cancellationToken).ConfigureAwait(false);
        var settled = new List<PlannedFile>(batch.Count);
        var pending = new List<(TransferKey, SourceIdentity)>();
        foreach (var file in batch)
        {
            var identity = new SourceIdentity(file.Info!.Size, file.Info.Version, file.Info.Modified);
            known.TryGetValue(Key(file), out var record);
            if (trustManifest && record is { Status: TransferStatus.Completed } && record.Source.SameAs(identity))
            {
                settled.Add(file with { Hint = DestinationHint.Done(record) });
                continue;
            }
            if (record is null) pending.Add((Key(file), identity));
            var notDone = record is not { Status: TransferStatus.Completed } || !record.Source.SameAs(identity);
            settled.Add(file with
            {
                Hint = await existing.FindAsync(file.Info.Path).ConfigureAwait(false) with
                {
                    NotDone = notDone,
                    NothingToResume = record is null or { Status: TransferStatus.Pending or TransferStatus.Completed },
                },
            });
        }
        await manifest.AddPendingAsync(sessionId, pending, cancellationToken).ConfigureAwait(false);
        return settled;

        TransferKey Key(PlannedFile f) => new(f.From.Key, f.To.Key, pipelineSpec);
    }

    /// <summary>
    /// Refuses a copy onto its own source, when both sides are files of this machine: the same file after links and
    /// "..", or another name of it (a hard link); the same folder. Copied onto itself through a stage, a file would be
    /// replaced by what the stage made of it. For a folder copied into a folder inside it, returns the destination's
    /// path relative to the source: the listing leaves it out, else it would copy what it has just written. Null otherwise.
    /// </summary>
    private static async Task<string?> DestinationInsideSourceAsync(Location source, ObjectInfo sourceInfo, Location destination,
        TransferFeatures features, Polly.ResiliencePipeline retry, CancellationToken cancellationToken)
    {
        if (source.Storage is not ILocalFileIdentity from || destination.Storage is not ILocalFileIdentity to
            || from.FileIdOf(source.Path) is not { } sourceId)
            return null;
        if (!sourceInfo.IsDirectory)
        {
            var target = await FileDestinationAsync(source, destination, features, retry, cancellationToken).ConfigureAwait(false);
            if (to.FileIdOf(target.Path) == sourceId)
                throw new LoadPipeException(ErrorKind.Usage, $"{source} and {target} are the same file: it cannot be copied onto itself");
            return null;
        }
        // The destination, or the first of its parents that exists, may be the source folder.
        var below = new List<string>();
        for (var path = destination.Path; path is not null; path = ParentOf(path))
        {
            if (to.FileIdOf(path) == sourceId)
            {
                if (below.Count == 0)
                    throw new LoadPipeException(ErrorKind.Usage, $"{source} and {destination} are the same folder: it cannot be copied onto itself");
                below.Reverse();
                return string.Join('/', below);
            }
            var name = path.TrimEnd('/')[(path.TrimEnd('/').LastIndexOf('/') + 1)..];
            if (name == "..") return null;
            if (name is not ("." or "")) below.Add(name);
        }
        return null;

        static string? ParentOf(string path)
        {
            var trimmed = path.TrimEnd('/');
            if (trimmed.Length == 0) return null;
            var slash = trimmed.LastIndexOf('/');
            return slash < 0 ? "" : slash == 0 ? "/" : trimmed[..slash];
        }
    }

    private static async Task<Location> FileDestinationAsync(Location source, Location destination, TransferFeatures features,
        Polly.ResiliencePipeline retry, CancellationToken cancellationToken)
    {
        // A destination that keeps nothing has no folders: the file goes to it as it is.
        if (features.Destination.KeepsNothing) return destination;
        var isFolder = destination.IsFolderHint
            || (await retry.ExecuteAsync(async ct => await destination.Storage.StatAsync(destination.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))?.IsDirectory == true;
        if (!isFolder) return destination;
        if (source.Name.Length == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination} is a folder and {source} has no file name: give the destination's file name");
        return destination.Child(source.Name);
    }

    private sealed class NullObserver : ITransferObserver;
}
