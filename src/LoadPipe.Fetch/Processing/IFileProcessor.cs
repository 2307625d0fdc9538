using System.Text.Json.Nodes;

namespace LoadPipe.Fetch.Processing;

/// <summary>
/// Turns one downloaded file into a result (a digest, a content type, a listing). Called by many processing workers at
/// once, each with its own file: an implementation must be safe to call concurrently. Library users register their own
/// with <see cref="Pipeline.FetchPipeline"/>; `lp fetch --processor plugin:PATH` runs one in another process.
/// </summary>
public interface IFileProcessor
{
    /// <summary>The result's name in the output ("sha256", "content_type"): unique in a pipeline.</summary>
    string Name { get; }

    /// <summary>True when the processor needs the whole file on disk (<see cref="FileData.Path"/>): a zip's directory is
    /// at its end, another program opens it. False: it reads <see cref="FileData.OpenRead"/> once, front to back, and
    /// may be given the bytes as they arrive.</summary>
    bool NeedsPath { get; }

    /// <summary>The result for <paramref name="file"/>: any JSON value, or null for none.</summary>
    /// <exception cref="Exception">Any: the file fails in the processing stage with the exception's message, and the
    /// pipeline goes on with the next file.</exception>
    ValueTask<JsonNode?> ProcessAsync(FileData file, CancellationToken cancellationToken = default);
}

/// <summary>
/// Consumes every entry's outcome as it completes (seed 002's post-processor): one consumer, called with one result at
/// a time, in completion order. <see cref="CompleteAsync"/> is called once at the end, also after Ctrl-C.
/// </summary>
public interface IPostProcessor : IAsyncDisposable
{
    ValueTask PostProcessAsync(FetchResult result, CancellationToken cancellationToken = default);

    /// <summary>Writes out what is buffered (a last batch, a file's tail).</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken = default);
}

/// <summary>Where an entry's run ended.</summary>
public enum FetchOutcome
{
    /// <summary>Downloaded and processed by every processor.</summary>
    Done,

    /// <summary>Done by an earlier run, as the manifest recorded it: not downloaded again.</summary>
    Skipped,

    /// <summary>Failed, in <see cref="FetchResult.FailedStage"/>.</summary>
    Failed,
}

/// <summary>The stage an entry failed in.</summary>
public enum FetchStage { Input, Download, Process }

/// <summary>One entry's outcome, as the post-processors get it.</summary>
public sealed record FetchResult
{
    public string? Id { get; init; }
    public string? Name { get; init; }
    public string? Url { get; init; }

    /// <summary>1-based line of the list the entry starts on.</summary>
    public long Line { get; init; }

    public FetchOutcome Outcome { get; init; }

    /// <summary>Set when <see cref="Outcome"/> is <see cref="FetchOutcome.Failed"/>.</summary>
    public FetchStage? FailedStage { get; init; }

    /// <summary>One line; null unless the entry failed.</summary>
    public string? Error { get; init; }

    /// <summary>Bytes downloaded (before stages); -1 when none.</summary>
    public long Size { get; init; } = -1;

    /// <summary>Each processor's result by its <see cref="IFileProcessor.Name"/>; for a skipped entry, the hashes the
    /// manifest recorded.</summary>
    public IReadOnlyDictionary<string, JsonNode?> Results { get; init; } = new Dictionary<string, JsonNode?>();

    /// <summary>Where the file was kept (--save), or null.</summary>
    public string? SavedAs { get; init; }

    /// <summary>"done", "skipped" or "failed", as the jsonl and csv results write it.</summary>
    public string Status => Outcome switch
    {
        FetchOutcome.Done => "done",
        FetchOutcome.Skipped => "skipped",
        _ => "failed",
    };
}
