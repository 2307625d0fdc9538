using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using LoadPipe.Core.Caching;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Threading;
using LoadPipe.Fetch.Downloads;
using LoadPipe.Fetch.Input;
using LoadPipe.Fetch.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadPipe.Fetch.Pipeline;

/// <summary>
/// Seed 002's pipeline on channels: the list streams into a bounded download queue; download workers (at most
/// <see cref="FetchOptions.PerHost"/> per host) feed a bounded processing queue; processing workers run every processor
/// on each file and hand its result to one post-processing consumer. Every queue is bounded, so a slow stage slows the
/// ones before it and memory stays flat.
/// <para>
/// When every processor reads a stream (<see cref="IFileProcessor.NeedsPath"/> false) and nothing is saved, a file is
/// handed to its processing worker before its download starts and the bytes flow through pipes as they arrive: no
/// temporary file. Otherwise the download lands in the core's bounded disk cache (<see cref="DiskCache"/>, under
/// <see cref="FetchOptions.CacheDirectory"/>, within <see cref="FetchOptions.CacheLimit"/>): it takes its room before
/// its first byte, waiting while the files before it fill the cache, is never evicted while it waits for its
/// processor, and is deleted (or moved to <see cref="FetchOptions.SaveDirectory"/>) once processed.
/// </para>
/// <para>
/// With a manifest, each entry is a transfer from its URL to <see cref="FetchOptions.Destination"/> through the stages:
/// entries the manifest records as completed are skipped (unless <see cref="FetchOptions.Force"/>), the others are
/// recorded as pending when read, then completed with their hashes or failed with their error. An entry the list
/// reader rejects is recorded as failed with its reason, keyed by its place in the list (<c>LIST#line=N</c>).
/// </para>
/// <para>
/// A URL listed twice is fetched once: while the first entry is in hand, the later ones wait for it and get its result
/// under their own id, name and line (and, with --save, a copy under their own name); once it is done, the manifest
/// says so and they are skipped with its hashes. Cancelling
/// <c>stop</c> stops reading the list; the entries already read are downloaded and processed, and the run ends as
/// interrupted.
/// </para>
/// </summary>
public sealed class FetchPipeline
{
    private const int ManifestBatch = 100;
    private const int FailuresKept = 20;
    private static readonly PipeOptions StreamPipe = new(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false);

    private readonly IDownloader _downloader;
    private readonly IReadOnlyList<IFileProcessor> _processors;
    private readonly IReadOnlyList<IPostProcessor> _postProcessors;
    private readonly FetchOptions _options;
    private readonly IManifest? _manifest;
    private readonly ILogger _logger;
    private readonly bool _streaming;
    private readonly string _pipelineSpec;

    public FetchPipeline(IDownloader downloader, IReadOnlyList<IFileProcessor> processors, IReadOnlyList<IPostProcessor> postProcessors,
        FetchOptions options, IManifest? manifest = null, ILogger? logger = null)
    {
        var duplicate = processors.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new LoadPipeException(ErrorKind.Usage, $"two processors are named '{duplicate.Key}'");
        _downloader = downloader;
        _processors = processors;
        _postProcessors = postProcessors;
        _options = options;
        _manifest = manifest;
        _logger = logger ?? NullLogger.Instance;
        _streaming = options.SaveDirectory is null && processors.All(p => !p.NeedsPath);
        _pipelineSpec = string.Join(StageCatalog.PipelineSeparator, options.Stages.Select(s => s.Spec));
    }

    /// <summary>True when files go from the network to the processors without a temporary file.</summary>
    public bool Streaming => _streaming;

    /// <param name="session">What the manifest's session records (command, the list, the destination); ignored without a manifest.</param>
    /// <param name="stop">Stops reading the list (Ctrl-C): what was read is finished, and the run ends as interrupted.</param>
    public async Task<FetchSummary> RunAsync(IAsyncEnumerable<FetchEntry> entries, SessionStart? session = null, CancellationToken stop = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = new Run(this) { ListKey = session?.Source ?? "-" };
        long sessionId = 0;
        IAsyncDisposable? alive = null;
        if (_manifest is not null)
        {
            sessionId = await _manifest.BeginSessionAsync(session ?? new SessionStart("fetch", "-", _options.Destination)).ConfigureAwait(false);
            alive = await _manifest.TryLockAsync(ManifestQueries.SessionLock(sessionId)).ConfigureAwait(false);
        }
        run.SessionId = sessionId;
        DirectoryInfo? ownCache = null;
        if (!_streaming)
        {
            var dir = _options.CacheDirectory ?? (ownCache = Directory.CreateTempSubdirectory("lp-fetch-")).FullName;
            run.Cache = new DiskCache(dir, _options.CacheLimit);
            if (_options.SaveDirectory is { } save) Directory.CreateDirectory(save);
        }
        using var recording = new CancellationTokenSource();
        var counts = _manifest is null ? Task.CompletedTask : RecordCountsAsync(_manifest, run, recording.Token);
        try
        {
            await run.ExecuteAsync(entries, stop).ConfigureAwait(false);
        }
        catch (LoadPipeException) when (_manifest is not null)
        {
            // The list broke (a JSON syntax error): the entries read were finished, and the session ends as failed.
            await recording.CancelAsync().ConfigureAwait(false);
            await counts.ConfigureAwait(false);
            await EndAsync(run.Summary(clock.Elapsed.TotalSeconds) with { Status = SessionStatus.Failed }).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Stopped before the end is recorded, so that no count from a moment before can follow it.
            await recording.CancelAsync().ConfigureAwait(false);
            await counts.ConfigureAwait(false);
            if (ownCache is not null)
            {
                try { ownCache.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        var summary = run.Summary(clock.Elapsed.TotalSeconds);
        await EndAsync(run.StrictError is null ? summary : summary with { Status = SessionStatus.Failed }).ConfigureAwait(false);
        return run.StrictError is { } strict ? throw new LoadPipeException(ErrorKind.Usage, strict + " (--strict stops at the first bad entry)") : summary;

        async Task EndAsync(FetchSummary ended)
        {
            if (_manifest is null) return;
            await _manifest.EndSessionAsync(sessionId, new SessionSummary(ended.Status, (int)ended.Entries, (int)ended.Skipped,
                (int)ended.Failed, ended.Bytes, ended.Bytes)).ConfigureAwait(false);
            if (alive is not null) await alive.DisposeAsync().ConfigureAwait(false);
            alive = null;
        }
    }

    /// <summary>Saves the session's counts every second while it runs, as the transfer engine does, so that `lp status`
    /// shows a running fetch, and about what a killed one did. A failure only ends the saving.</summary>
    private static async Task RecordCountsAsync(IManifest manifest, Run run, CancellationToken cancellationToken)
    {
        SessionCounts? recorded = null;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            using var stop = timer.StopOn(cancellationToken);
            while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
            {
                var counts = run.Counts();
                if (counts == recorded) continue;
                await manifest.RecordSessionCountsAsync(run.SessionId, counts, cancellationToken).ConfigureAwait(false);
                recorded = counts;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is System.Data.Common.DbException or LoadPipeException)
        {
        }
    }

    private TransferKey KeyOf(FetchEntry entry) => new(Location.KeyOf(entry.Url!), _options.Destination, _pipelineSpec);

    /// <summary>One entry on its way through the stages.</summary>
    private sealed class Work(FetchEntry entry, TransferKey key)
    {
        public FetchEntry Entry { get; } = entry;
        public TransferKey Key { get; } = key;
        public IAsyncDisposable? Lock { get; set; }
        public TransferLease? Lease { get; set; }
        /// <summary>Later entries of the same URL, given this one's result (guarded by the run's in-hand table).</summary>
        public List<FetchEntry> Followers { get; } = [];
        /// <summary>The download in the cache, until it is processed.</summary>
        public CacheFile? File { get; set; }
    }

    /// <summary>A file handed to the processing workers; <see cref="Download"/> ends when its bytes are all in.</summary>
    private sealed record Job(Work Work, IReadOnlyList<FileData> Files, Task<DownloadInfo> Download);

    /// <summary>The state of one run.</summary>
    private sealed class Run(FetchPipeline p)
    {
        private readonly Channel<Work> _downloads = Channel.CreateBounded<Work>(new BoundedChannelOptions(p._options.DownloadQueueSize) { SingleWriter = true });
        private readonly Channel<Job> _processing = Channel.CreateBounded<Job>(p._options.ProcessingQueueSize);
        private readonly Channel<FetchResult> _results = Channel.CreateBounded<FetchResult>(new BoundedChannelOptions(256) { SingleReader = true });
        private readonly List<FetchResult> _failures = [];
        private readonly Dictionary<TransferKey, Work> _inHand = [];
        private long _entries, _done, _skipped, _failedInput, _failedDownload, _failedProcess, _failedPost, _bytes;
        private bool _interrupted;

        public long SessionId { get; set; }

        /// <summary>The list's key, as the session's source records it: with a line, what names a rejected entry.</summary>
        public string ListKey { get; init; } = "-";
        /// <summary>Where downloads wait for processing; null when they stream.</summary>
        public DiskCache? Cache { get; set; }
        public string? StrictError { get; private set; }

        public async Task ExecuteAsync(IAsyncEnumerable<FetchEntry> entries, CancellationToken stop)
        {
            var consumer = Task.Run(ConsumeAsync, CancellationToken.None);
            try
            {
                var intake = Task.Run(() => IntakeAsync(entries, stop), CancellationToken.None);
                var downloaders = Enumerable.Range(0, p._options.Downloads).Select(_ => Task.Run(DownloadWorkerAsync, CancellationToken.None)).ToList();
                var processors = Enumerable.Range(0, p._options.Processors).Select(_ => Task.Run(ProcessWorkerAsync, CancellationToken.None)).ToList();
                try
                {
                    await intake.ConfigureAwait(false);
                }
                finally
                {
                    _downloads.Writer.TryComplete();
                    try
                    {
                        await Task.WhenAll(downloaders).ConfigureAwait(false);
                    }
                    finally
                    {
                        _processing.Writer.TryComplete();
                        await Task.WhenAll(processors).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                _results.Writer.TryComplete();
                await consumer.ConfigureAwait(false);
            }
        }

        /// <summary>The counts so far, as the manifest's session records them.</summary>
        public SessionCounts Counts()
        {
            var failed = Interlocked.Read(ref _failedInput) + Interlocked.Read(ref _failedDownload) + Interlocked.Read(ref _failedProcess);
            var bytes = Interlocked.Read(ref _bytes);
            return new SessionCounts((int)Math.Min(Interlocked.Read(ref _entries), int.MaxValue), (int)Math.Min(Interlocked.Read(ref _skipped), int.MaxValue),
                (int)Math.Min(failed, int.MaxValue), bytes, bytes);
        }

        public FetchSummary Summary(double seconds)
        {
            var failed = _failedInput + _failedDownload + _failedProcess;
            return new FetchSummary
            {
                Status = _interrupted ? SessionStatus.Interrupted : SessionStatuses.Of((int)Math.Min(failed, int.MaxValue), (int)Math.Min(_entries, int.MaxValue)),
                Entries = _entries,
                Done = _done,
                Skipped = _skipped,
                FailedInput = _failedInput,
                FailedDownload = _failedDownload,
                FailedProcess = _failedProcess,
                FailedPost = _failedPost,
                Bytes = _bytes,
                DurationSeconds = seconds,
                Session = SessionId,
                Failures = _failures,
            };
        }

        private async Task IntakeAsync(IAsyncEnumerable<FetchEntry> entries, CancellationToken stop)
        {
            var batch = new List<FetchEntry>(ManifestBatch);
            try
            {
                await foreach (var entry in entries.WithCancellation(stop).ConfigureAwait(false))
                {
                    if (entry.Error is { } error)
                    {
                        if (p._options.Strict)
                        {
                            StrictError = error;
                            break;
                        }
                        p._logger.EntryFailed("Input", error);
                        await RejectAsync(entry, error).ConfigureAwait(false);
                        continue;
                    }
                    batch.Add(entry);
                    if (batch.Count < ManifestBatch) continue;
                    await QueueAsync(batch, stop).ConfigureAwait(false);
                    batch.Clear();
                }
                if (StrictError is null) await QueueAsync(batch, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                _interrupted = true;
            }
        }

        /// <summary>Settles a batch of entries against the manifest (one query), then queues the rest for download.</summary>
        private async Task QueueAsync(List<FetchEntry> batch, CancellationToken stop)
        {
            if (batch.Count == 0) return;
            var work = batch.Select(e => new Work(e, p.KeyOf(e))).ToList();
            if (p._manifest is { } manifest)
            {
                var known = await manifest.FindTransfersAsync(work.Select(w => w.Key).Distinct().ToList(), CancellationToken.None).ConfigureAwait(false);
                var pending = new List<(TransferKey, SourceIdentity)>();
                var queued = new List<Work>(work.Count);
                foreach (var w in work)
                {
                    known.TryGetValue(w.Key, out var record);
                    if (!p._options.Force && record is { Status: TransferStatus.Completed })
                    {
                        await _results.Writer.WriteAsync(Skipped(w.Entry, record), CancellationToken.None).ConfigureAwait(false);
                        continue;
                    }
                    if (record is null && !pending.Any(x => x.Item1 == w.Key)) pending.Add((w.Key, Unknown));
                    queued.Add(w);
                }
                await manifest.AddPendingAsync(SessionId, pending, CancellationToken.None).ConfigureAwait(false);
                work = queued;
            }
            foreach (var w in work)
            {
                Interlocked.Increment(ref _entries);
                lock (_inHand)
                {
                    if (_inHand.TryGetValue(w.Key, out var first))
                    {
                        first.Followers.Add(w.Entry);
                        continue;
                    }
                    _inHand[w.Key] = w;
                }
                try
                {
                    await _downloads.Writer.WriteAsync(w, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    lock (_inHand) _inHand.Remove(w.Key);
                    throw;
                }
            }
        }

        /// <summary>An entry the list reader rejected: recorded as a failed transfer of its place in the list, so that
        /// `lp status` shows it with its reason, and handed on as failed.</summary>
        private async Task RejectAsync(FetchEntry entry, string error)
        {
            var result = Failed(entry, FetchStage.Input, error);
            if (p._manifest is not { } manifest)
            {
                await _results.Writer.WriteAsync(result, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            var key = new TransferKey(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ListKey}#line={entry.Line}"),
                p._options.Destination, p._pipelineSpec);
            var work = new Work(entry, key);
            try
            {
                await manifest.AddPendingAsync(SessionId, [(key, Unknown)], CancellationToken.None).ConfigureAwait(false);
                await BeginAsync(work).ConfigureAwait(false);
            }
            catch (LoadPipeException e)
            {
                p._logger.RecordFailed(entry.Label, Message(e));
            }
            await FinishAsync(work, result).ConfigureAwait(false);
        }

        private static readonly SourceIdentity Unknown = new(-1, null, null);

        private async Task DownloadWorkerAsync()
        {
            await foreach (var work in _downloads.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                try
                {
                    await BeginAsync(work).ConfigureAwait(false);
                    if (p._streaming) await StreamAsync(work).ConfigureAwait(false);
                    else await DownloadToFileAsync(work).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    await FinishAsync(work, Failed(work.Entry, FetchStage.Download, Message(e))).ConfigureAwait(false);
                }
            }
        }

        private async Task DownloadToFileAsync(Work work)
        {
            var cached = work.File = Cache!.NewFile();
            DownloadInfo info;
            long length;
            try
            {
                var file = new FileStream(cached.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    var chain = StageChain.Create(p._options.Stages, file, CancellationToken.None);
                    try
                    {
                        info = await p._downloader.DownloadAsync(work.Entry, chain.Input, async (size, ct) =>
                        {
                            if (size >= 0) await cached.ReserveAsync(size, ct).ConfigureAwait(false);
                        }).ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        try { await chain.CompleteAsync(new IOException(e.Message, e)).ConfigureAwait(false); } catch (Exception) { }
                        throw;
                    }
                    await chain.CompleteAsync().ConfigureAwait(false);
                    length = file.Length;
                }
            }
            catch
            {
                Discard(work);
                throw;
            }
            // Room is taken for what is on disk, which the stages may have made larger than announced.
            cached.Account(length);
            var data = new FileData
            {
                Id = work.Entry.Id, Name = work.Entry.FileName, Url = work.Entry.Url!, Path = cached.Path, Size = length, Hashes = info.Hashes,
            };
            await _processing.Writer.WriteAsync(new Job(work, p._processors.Select(_ => data).ToList(), Task.FromResult(info))).ConfigureAwait(false);
        }

        private async Task StreamAsync(Work work)
        {
            var pipes = p._processors.Select(_ => new Pipe(StreamPipe)).ToList();
            var broadcast = new BroadcastStream(pipes.Select(x => x.Writer).ToList());
            var files = pipes.Select(pipe => new FileData
            {
                Id = work.Entry.Id, Name = work.Entry.FileName, Url = work.Entry.Url!, Stream = pipe.Reader.AsStream(),
            }).ToList();
            var downloaded = new TaskCompletionSource<DownloadInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
            await _processing.Writer.WriteAsync(new Job(work, files, downloaded.Task)).ConfigureAwait(false);
            var chain = StageChain.Create(p._options.Stages, broadcast, CancellationToken.None);
            try
            {
                var info = await p._downloader.DownloadAsync(work.Entry, chain.Input, (_, _) => ValueTask.CompletedTask).ConfigureAwait(false);
                await chain.CompleteAsync().ConfigureAwait(false);
                await broadcast.CompleteAsync().ConfigureAwait(false);
                downloaded.SetResult(info);
            }
            catch (Exception e)
            {
                try { await chain.CompleteAsync(new IOException(e.Message, e)).ConfigureAwait(false); } catch (Exception) { }
                await broadcast.CompleteAsync(new IOException("the download failed: " + e.Message, e)).ConfigureAwait(false);
                downloaded.SetException(e);
            }
        }

        private async Task ProcessWorkerAsync()
        {
            await foreach (var job in _processing.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                var work = job.Work;
                var outputs = new JsonNode?[p._processors.Count];
                var succeeded = new bool[p._processors.Count];
                var errors = new List<string>();
                var runs = p._processors.Select(async (processor, i) =>
                {
                    var file = job.Files[i];
                    try
                    {
                        outputs[i] = await processor.ProcessAsync(file).ConfigureAwait(false);
                        succeeded[i] = true;
                    }
                    catch (Exception e)
                    {
                        lock (errors) errors.Add($"{processor.Name}: {Message(e)}");
                    }
                    finally
                    {
                        // A streamed processor that stopped early must not hold up the download feeding its pipe.
                        if (file.Stream is { } stream) await stream.DisposeAsync().ConfigureAwait(false);
                    }
                }).ToList();
                await Task.WhenAll(runs).ConfigureAwait(false);
                // In the processors' order, whichever finished first: the same list gives the same lines.
                var results = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
                for (var i = 0; i < outputs.Length; i++)
                    if (succeeded[i]) results[p._processors[i].Name] = outputs[i];
                FetchResult outcome;
                try
                {
                    var info = await job.Download.ConfigureAwait(false);
                    Interlocked.Add(ref _bytes, info.Bytes);
                    outcome = errors.Count > 0
                        ? Failed(work.Entry, FetchStage.Process, string.Join("; ", errors)) with { Size = info.Bytes, Results = results }
                        : Done(work.Entry, info.Bytes, results, Keep(work));
                    if (errors.Count > 0) p._logger.ProcessingFailed(Location.Redact(work.Entry.Url!), outcome.Error!);
                }
                catch (Exception e)
                {
                    outcome = Failed(work.Entry, FetchStage.Download, Message(e));
                }
                finally
                {
                    Discard(work);
                }
                await FinishAsync(work, outcome).ConfigureAwait(false);
            }
        }

        /// <summary>Moves a processed file to --save; null when there is none.</summary>
        private string? Keep(Work work)
        {
            if (p._options.SaveDirectory is not { } save || work.File is null) return null;
            var target = Path.Combine(save, work.Entry.FileName);
            work.File.MoveTo(target);
            work.File = null;
            return target;
        }

        /// <summary>Deletes the download from the cache (if it is still there) and gives its room back.</summary>
        private void Discard(Work work)
        {
            work.File?.Dispose();
            work.File = null;
        }

        private async Task BeginAsync(Work work)
        {
            if (p._manifest is not { } manifest) return;
            work.Lock = await manifest.TryLockAsync(work.Key).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.Busy, $"{Shown(work.Entry)}: another lp run is fetching it with the same processors");
            var record = await manifest.StartTransferAsync(work.Key, SessionId, Unknown).ConfigureAwait(false);
            work.Lease = record.Lease;
        }

        /// <summary>Records the entry's outcome in the manifest, releases it and hands the result on.</summary>
        private async Task FinishAsync(Work work, FetchResult result)
        {
            if (result.Outcome == FetchOutcome.Failed && result.FailedStage == FetchStage.Download) p._logger.EntryFailed("Download", result.Error!);
            if (p._manifest is { } manifest && work.Lease is { } lease)
            {
                try
                {
                    if (result.Outcome == FetchOutcome.Done)
                        await manifest.CompleteTransferAsync(lease, new TransferCompletion(result.Size, Hex(result, "md5"), Hex(result, "sha256"))).ConfigureAwait(false);
                    else
                        await manifest.FailTransferAsync(lease, result.Error ?? "failed").ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    p._logger.RecordFailed(Shown(work.Entry), Message(e));
                }
            }
            if (work.Lock is { } held) await held.DisposeAsync().ConfigureAwait(false);
            work.Lock = null;
            await _results.Writer.WriteAsync(result).ConfigureAwait(false);
            List<FetchEntry> followers;
            lock (_inHand)
            {
                if (!_inHand.Remove(work.Key, out var owner) || owner != work) return;
                followers = [.. work.Followers];
            }
            foreach (var entry in followers)
                await _results.Writer.WriteAsync(result with
                {
                    Id = entry.Id, Name = entry.Name, Url = entry.Url, Line = entry.Line, SavedAs = SaveCopy(result.SavedAs, entry),
                }).ConfigureAwait(false);
        }

        /// <summary>A later entry of a saved file keeps a copy under its own name; the same file when the names agree.</summary>
        private string? SaveCopy(string? saved, FetchEntry entry)
        {
            if (saved is null || p._options.SaveDirectory is not { } save) return saved;
            var target = Path.Combine(save, entry.FileName);
            if (Path.GetFullPath(target) == Path.GetFullPath(saved)) return saved;
            System.IO.File.Copy(saved, target, overwrite: true);
            return target;
        }

        private static string Shown(FetchEntry entry) => entry.Url is { } url ? Location.Redact(url) : entry.Label;

        private static string? Hex(FetchResult result, string name) =>
            result.Results.TryGetValue(name, out var v) && v is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

        private async Task ConsumeAsync()
        {
            await foreach (var result in _results.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                Count(result);
                foreach (var post in p._postProcessors)
                {
                    try
                    {
                        await post.PostProcessAsync(result).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Interlocked.Increment(ref _failedPost);
                        p._logger.PostProcessingFailed(Message(e));
                    }
                }
            }
            foreach (var post in p._postProcessors)
            {
                try
                {
                    await post.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _failedPost);
                    p._logger.PostProcessingFailed(Message(e));
                }
            }
        }

        private void Count(FetchResult result)
        {
            switch (result.Outcome)
            {
                case FetchOutcome.Done: Interlocked.Increment(ref _done); break;
                case FetchOutcome.Skipped: Interlocked.Increment(ref _skipped); Interlocked.Increment(ref _entries); break;
                default:
                    if (result.FailedStage == FetchStage.Input)
                    {
                        Interlocked.Increment(ref _failedInput);
                        Interlocked.Increment(ref _entries);
                    }
                    else if (result.FailedStage == FetchStage.Download) Interlocked.Increment(ref _failedDownload);
                    else Interlocked.Increment(ref _failedProcess);
                    if (_failures.Count < FailuresKept) _failures.Add(result);
                    break;
            }
        }

        private static string Message(Exception e) => e switch
        {
            LoadPipeException => e.Message,
            IOException { InnerException: LoadPipeException inner } => inner.Message,
            _ => $"{e.GetType().Name}: {e.Message.Split('\n')[0]}",
        };

        private static FetchResult Failed(FetchEntry entry, FetchStage stage, string error) => new()
        {
            Id = entry.Id, Name = entry.Name, Url = entry.Url, Line = entry.Line, Outcome = FetchOutcome.Failed, FailedStage = stage, Error = error,
        };

        private static FetchResult Done(FetchEntry entry, long size, IReadOnlyDictionary<string, JsonNode?> results, string? savedAs) => new()
        {
            Id = entry.Id, Name = entry.Name, Url = entry.Url, Line = entry.Line, Outcome = FetchOutcome.Done, Size = size, Results = results, SavedAs = savedAs,
        };

        private static FetchResult Skipped(FetchEntry entry, TransferRecord record)
        {
            var results = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
            if (record.Md5 is { } md5) results["md5"] = JsonValue.Create(md5);
            if (record.Sha256 is { } sha256) results["sha256"] = JsonValue.Create(sha256);
            return new FetchResult
            {
                Id = entry.Id, Name = entry.Name, Url = entry.Url, Line = entry.Line, Outcome = FetchOutcome.Skipped, Size = record.OutputSize, Results = results,
            };
        }
    }
}
