using LoadPipe.Core.Manifest;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.Pipeline;

/// <summary>How a fetch run ended: entries per outcome, failures per stage, bytes and rate.</summary>
public sealed record FetchSummary
{
    public SessionStatus Status { get; init; }
    public long Entries { get; init; }
    public long Done { get; init; }
    public long Skipped { get; init; }
    public long FailedInput { get; init; }
    public long FailedDownload { get; init; }
    public long FailedProcess { get; init; }

    /// <summary>Batches of results an http: post-processor could not deliver.</summary>
    public long FailedPost { get; init; }

    /// <summary>Bytes downloaded by this run.</summary>
    public long Bytes { get; init; }

    public double DurationSeconds { get; init; }

    /// <summary>The manifest's session, 0 without a manifest.</summary>
    public long Session { get; init; }

    /// <summary>The first failures, in completion order (at most 20).</summary>
    public IReadOnlyList<FetchResult> Failures { get; init; } = [];

    public long Failed => FailedInput + FailedDownload + FailedProcess;

    /// <summary>Entries finished (done, skipped or failed) per second of the run.</summary>
    public double FilesPerSecond => DurationSeconds > 0 ? (Done + Skipped + Failed) / DurationSeconds : 0;
}
