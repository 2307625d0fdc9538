using Microsoft.Extensions.Logging;

namespace LoadPipe.Fetch;

/// <summary>Every log line of the fetch pipeline, source-generated. Event ids: 6xx.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "{Stage} failed: {Error}")]
    public static partial void EntryFailed(this ILogger logger, string stage, string error);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Processing {Url} failed: {Error}")]
    public static partial void ProcessingFailed(this ILogger logger, string url, string error);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information, Message = "Try {Attempt} failed ({Error}); waiting {Delay} before the next")]
    public static partial void Retrying(this ILogger logger, int attempt, string error, TimeSpan delay);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Post-processing: {Error}")]
    public static partial void PostProcessingFailed(this ILogger logger, string error);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Manifest: could not record {Url}: {Error}")]
    public static partial void RecordFailed(this ILogger logger, string url, string error);
}
