using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Transfers;
using LoadPipe.Core.Uploads;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Hosting.Retries;

/// <summary>What to retry and how often: one round, or rounds with a doubling wait between them (`lp retry --auto`).</summary>
/// <param name="Settings">The front's own settings for each round's options (the CLI's flags); the stages are the recorded ones.</param>
/// <param name="Metadata">Properties every destination object gets; empty for none.</param>
public sealed record RetryRequest(long SessionId, JobSettings Settings, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Rounds at most; a round with nothing left to retry ends them. Default 1.</summary>
    public int MaxRounds { get; init; } = 1;

    /// <summary>The wait before the second round; it doubles each round. Default 10 s.</summary>
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>What a front shows of the rounds: it is handed each step, and runs each copy inside its own display.</summary>
public interface IRetryRoundsObserver
{
    /// <summary>Receives each file's progress during the copies.</summary>
    ITransferObserver Files { get; }

    /// <summary>Before round <paramref name="round"/> (the second or later) waits <paramref name="wait"/>.</summary>
    void RoundWaiting(int round, int maxRounds, int failedFiles, TimeSpan wait);

    /// <summary>Runs one copy (the failed files of one pipeline), e.g. inside a progress display, and returns its summary.</summary>
    Task<TransferSummary> RunCopyAsync(Func<Task<TransferSummary>> copy);

    /// <summary>One copy ended.</summary>
    void CopyFinished(TransferSummary summary);
}

/// <summary>What the rounds left: the session's record, whether any round had files to copy, and how many of the
/// session's files are still not done anywhere (a file a later run completed counts as done, though the session's own
/// record still shows its failure).</summary>
public sealed record RetryOutcome(SessionRecord Session, bool Retried, int Remaining);

/// <summary>
/// Copies a session's failed, interrupted and pending files again, grouped by their recorded pipeline, in rounds. The
/// transfers keep their keys, so what each confirmed is resumed, not sent again.
/// </summary>
public sealed class RetryRounds(LoadPipeHost host)
{
    /// <summary>The session after the last round, whether any round had files to copy, and what remains.</summary>
    public async Task<RetryOutcome> RunAsync(RetryRequest request, IRetryRoundsObserver observer,
        CancellationToken cancellationToken = default)
    {
        var id = request.SessionId;
        var manifest = await host.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var record = await manifest.GetSessionAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.Usage, $"session {id} does not exist (see lp sessions)");
        // A fetch run's files are list entries, not locations: its own command resumes it.
        if (record.Command == "fetch")
            throw new LoadPipeException(ErrorKind.Usage,
                $"session {id} is an lp fetch run: run lp fetch with the same list again (it skips the entries already done)");
        var engine = host.CreateEngine(manifest);
        var maxRounds = Math.Max(1, request.MaxRounds);
        var retried = false;
        for (var round = 1; round <= maxRounds; round++)
        {
            var failed = await OutstandingAsync(manifest, id, cancellationToken).ConfigureAwait(false);
            if (failed.Count == 0) break;
            if (round > 1)
            {
                var wait = request.FirstDelay * Math.Pow(2, round - 2);
                observer.RoundWaiting(round, maxRounds, failed.Count, wait);
                await Task.Delay(wait, host.Time, cancellationToken).ConfigureAwait(false);
            }
            foreach (var group in failed.GroupBy(t => t.Key.Pipeline))
            {
                var options = host.Options(request.Settings with { Process = StageCatalog.SplitPipeline(group.Key) }, null, "retry");
                if (request.Metadata.Count > 0) options.Metadata = new Dictionary<string, string>(request.Metadata);
                var pairs = new List<(Location, Location)>();
                foreach (var t in group.Where(t => t.Key.Source != "-" && t.Key.Destination != "-" && !UploadRows.IsUploadSource(t.Key.Source)))
                    pairs.Add((await host.Resolver.ResolveAsync(t.Key.Source, cancellationToken).ConfigureAwait(false),
                        await host.Resolver.ResolveAsync(t.Key.Destination, cancellationToken).ConfigureAwait(false)));
                var summary = await observer.RunCopyAsync(() => engine.RetryAsync(id, pairs, options, observer.Files, cancellationToken)).ConfigureAwait(false);
                retried = true;
                observer.CopyFinished(summary);
            }
        }
        var after = await manifest.GetSessionAsync(id, cancellationToken).ConfigureAwait(false) ?? record;
        var remaining = await OutstandingAsync(manifest, id, cancellationToken).ConfigureAwait(false);
        return new RetryOutcome(after, retried, remaining.Count);
    }

    /// <summary>The session's files not done: failed, interrupted or pending, and not completed since by another run.</summary>
    private static async Task<List<TransferRecord>> OutstandingAsync(IManifest manifest, long id, CancellationToken cancellationToken)
    {
        var failed = new List<TransferRecord>();
        await foreach (var t in manifest.ListTransfersAsync(id, cancellationToken).ConfigureAwait(false))
            if (t.Status is TransferStatus.Failed or TransferStatus.InProgress or TransferStatus.Pending) failed.Add(t);
        if (failed.Count == 0) return failed;
        // The session keeps its own record of the files it failed; a later run may have copied them since, and
        // would only be skipped here, round after round.
        var now = await manifest.FindTransfersAsync(failed.Select(t => t.Key).ToList(), cancellationToken).ConfigureAwait(false);
        failed.RemoveAll(t => now.TryGetValue(t.Key, out var current) && current is { Status: TransferStatus.Completed } && current.SessionId != id);
        return failed;
    }
}
