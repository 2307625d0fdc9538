using System.Diagnostics;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Filters;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Resilience;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Storage;
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

    public async Task<TransferSummary> CopyAsync(Location source, Location destination, TransferOptions options,
        ITransferObserver? observer = null, CancellationToken cancellationToken = default)
    {
        observer ??= new NullObserver();
        var pipeline = _stages.ParseAll(options.Stages);
        var filter = new GlobFilter(options.Include, options.Exclude, options.Extensions);
        var retry = RetryPolicy.Create(options.Retries, options.RetryDelay, options.MaxRetryDelay, _time,
            (e, attempt, delay) => _logger.Retrying(attempt, e.Message, delay));
        var limiter = options.BandwidthLimit > 0 ? new BandwidthLimiter(options.BandwidthLimit, _time) : null;

        ObjectInfo sourceInfo;
        if (source.IsStdio) sourceInfo = new ObjectInfo { Path = "-" };
        else
        {
            sourceInfo = await retry.ExecuteAsync(async ct => await source.Storage.StatAsync(source.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.NotFound, $"{source}: no such file or folder");
        }
        if (!StorageFeatures.Of(destination.Storage).Write)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination}: {destination.Storage.Description} cannot be written to");
        if (sourceInfo.IsDirectory && destination.IsStdio)
            throw new LoadPipeException(ErrorKind.Usage, $"{source} is a folder: it cannot be written to stdout");

        var sessionId = await manifest.BeginSessionAsync(new SessionStart(options.Command, source.Uri, destination.Uri, options.Project, options.ConfigSnapshot), cancellationToken).ConfigureAwait(false);
        var pipelineSpec = string.Join(" | ", pipeline.Select(s => s.Spec));
        var plan = Plan(source, sourceInfo, destination, filter, sessionId, pipelineSpec, options.TrustManifest, retry, observer, cancellationToken);
        return await RunAsync(plan, sessionId, null, options, pipeline, retry, limiter, observer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the given pairs again as part of an existing session (`lp retry`): each source is stat'ed afresh, and
    /// the session's counts become its earlier ones with these files' new outcomes.
    /// </summary>
    public async Task<TransferSummary> RetryAsync(long sessionId, IReadOnlyList<(Location From, Location To)> pairs, TransferOptions options,
        ITransferObserver? observer = null, CancellationToken cancellationToken = default)
    {
        var baseline = await manifest.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.NotFound, $"session {sessionId} does not exist");
        var retry = RetryPolicy.Create(options.Retries, options.RetryDelay, options.MaxRetryDelay, _time,
            (e, attempt, delay) => _logger.Retrying(attempt, e.Message, delay));
        var limiter = options.BandwidthLimit > 0 ? new BandwidthLimiter(options.BandwidthLimit, _time) : null;
        var plan = pairs.Select(p => new PlannedFile(p.From, null, p.To, DestinationHint.Unknown)).ToAsyncEnumerable();
        return await RunAsync(plan, sessionId, baseline, options, _stages.ParseAll(options.Stages), retry, limiter, observer ?? new NullObserver(), cancellationToken).ConfigureAwait(false);
    }

    private async Task<TransferSummary> RunAsync(IAsyncEnumerable<PlannedFile> plan, long sessionId, SessionRecord? baseline,
        TransferOptions options, IReadOnlyList<IStage> pipeline, Polly.ResiliencePipeline retry, BandwidthLimiter? limiter, ITransferObserver observer,
        CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        // Held until the session's end is recorded, so `lp status` can tell a running session from a killed one.
        await using var alive = await manifest.TryLockAsync(ManifestQueries.SessionLock(sessionId), cancellationToken).ConfigureAwait(false);
        var cache = options.CacheDirectory is { } cacheDir ? new Caching.DiskCache(cacheDir, options.CacheLimit) : null;
        var context = new TransferContext(manifest, options, pipeline, retry, limiter, observer, cache, _logger, sessionId);
        var transfer = new FileTransfer(context);

        int files = 0, skipped = 0, failedCount = 0;
        long bytes = 0, sent = 0, resumed = 0;
        var failures = new List<FileResult>();

        async ValueTask RunOne(PlannedFile item, CancellationToken ct)
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
                result = await transfer.RunAsync(item.From, info, item.To, item.Hint, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
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
            Interlocked.Increment(ref files);
            Interlocked.Add(ref bytes, Math.Max(0, result.Bytes));
            Interlocked.Add(ref sent, result.BytesSent);
            Interlocked.Add(ref resumed, result.BytesResumed);
            if (result.Outcome == FileOutcome.Skipped) Interlocked.Increment(ref skipped);
            if (result.Outcome == FileOutcome.Failed)
            {
                Interlocked.Increment(ref failedCount);
                lock (failures) if (failures.Count < FailuresKept) failures.Add(result);
            }
            observer.FileFinished(result);
        }

        string status;
        try
        {
            await Parallel.ForEachAsync(Unsettled(cancellationToken), new ParallelOptions { MaxDegreeOfParallelism = options.Transfers, CancellationToken = cancellationToken }, RunOne).ConfigureAwait(false);
            status = Status(failedCount, files);
        }
        catch (OperationCanceledException)
        {
            status = "interrupted";
            await EndAsync().ConfigureAwait(false);
            throw;
        }
        await EndAsync().ConfigureAwait(false);

        return new TransferSummary
        {
            Status = status,
            Files = files,
            FilesSkipped = skipped,
            FilesFailed = failedCount,
            Bytes = bytes,
            BytesSent = sent,
            BytesResumed = resumed,
            DurationSeconds = stopwatch.Elapsed.TotalSeconds,
            Session = sessionId,
            StopReason = context.Stop.Reason,
            Failures = failures,
        };

        Task EndAsync()
        {
            if (baseline is null)
                return manifest.EndSessionAsync(sessionId, new SessionSummary(status, files, skipped, failedCount, bytes, sent), CancellationToken.None);
            // A retry: the session keeps its files; those retried now succeed or fail anew.
            // Files a killed run had only planned (pending) were not in its counts: they join them now.
            var stillFailed = Math.Max(0, baseline.FilesFailed - (files - failedCount));
            var merged = status == "interrupted" ? status : Status(stillFailed, baseline.Files);
            return manifest.EndSessionAsync(sessionId, new SessionSummary(merged, baseline.Files, baseline.FilesSkipped, stillFailed,
                baseline.Bytes + bytes, baseline.BytesSent + sent), CancellationToken.None);
        }
    }

    private static string Status(int failed, int files) => failed == 0 ? "completed" : failed >= files ? "failed" : "partial";

    /// <summary>Pairs each source file with its destination, lazily: a 300k-file tree is never held in memory.
    /// Files are looked up in the manifest in batches: one it recorded as completed from an unchanged source is
    /// settled there (with <see cref="TransferOptions.TrustManifest"/>). For the others, when both sides list in
    /// <see cref="PathOrder"/>, the destination's listing is merged in as it streams, so what is already there is
    /// known without a request per file; a re-run where the manifest settles every file lists nothing.</summary>
    private async IAsyncEnumerable<PlannedFile> Plan(Location source, ObjectInfo sourceInfo, Location destination,
        GlobFilter filter, long sessionId, string pipelineSpec, bool trustManifest, Polly.ResiliencePipeline retry, ITransferObserver observer,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!sourceInfo.IsDirectory)
        {
            if (!source.IsStdio && !filter.Matches(source.Name)) yield break;
            observer.FilePlanned(sourceInfo.Size);
            yield return new PlannedFile(source, sourceInfo, await FileDestinationAsync(source, destination, retry, cancellationToken).ConfigureAwait(false), DestinationHint.Unknown);
            yield break;
        }
        await using var existing = new DestinationListing(destination, StorageFeatures.Of(source.Storage).SortedListing, _logger, cancellationToken);
        var batch = new List<PlannedFile>(PlanBatch);
        await foreach (var entry in source.Storage.ListAsync(source.Path, recursive: true, cancellationToken).ConfigureAwait(false))
        {
            if (entry.IsDirectory || !filter.Matches(entry.Path)) continue;
            observer.FilePlanned(entry.Size);
            batch.Add(new PlannedFile(source.Child(entry.Path), entry, destination.Child(entry.Path), DestinationHint.Unknown));
            if (batch.Count < PlanBatch) continue;
            foreach (var file in await SettleAsync(batch, existing, sessionId, pipelineSpec, trustManifest, cancellationToken).ConfigureAwait(false)) yield return file;
            batch.Clear();
        }
        foreach (var file in await SettleAsync(batch, existing, sessionId, pipelineSpec, trustManifest, cancellationToken).ConfigureAwait(false)) yield return file;
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
            settled.Add(file with { Hint = await existing.FindAsync(file.Info.Path).ConfigureAwait(false) with { NotDone = notDone } });
        }
        await manifest.AddPendingAsync(sessionId, pending, cancellationToken).ConfigureAwait(false);
        return settled;

        TransferKey Key(PlannedFile f) => new(f.From.Uri, f.To.Uri, pipelineSpec);
    }

    private static async Task<Location> FileDestinationAsync(Location source, Location destination, Polly.ResiliencePipeline retry, CancellationToken cancellationToken)
    {
        if (destination.IsStdio) return destination;
        var isFolder = destination.IsFolderHint
            || (await retry.ExecuteAsync(async ct => await destination.Storage.StatAsync(destination.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))?.IsDirectory == true;
        if (!isFolder) return destination;
        var name = source.IsStdio ? throw new LoadPipeException(ErrorKind.Usage, $"{destination} is a folder: give a file name for data from stdin") : source.Name;
        if (name.Length == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"{source} has no file name: give the destination's file name instead of a folder");
        return destination.Child(name);
    }

    private sealed class NullObserver : ITransferObserver;
}
