using Microsoft.Extensions.Logging;

namespace LoadPipe.Core;

/// <summary>Every log line the core writes, source-generated. Event ids: 1xx transfers, 2xx retries, 3xx uploads (the push entry).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Skipped {Source} -> {Destination}: already complete and unchanged")]
    public static partial void Skipped(this ILogger logger, string source, string destination);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Resuming {Source} after {Bytes} confirmed bytes")]
    public static partial void Resuming(this ILogger logger, string source, long bytes);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Restarting {Source}: pipeline '{Pipeline}' cannot resume mid-file")]
    public static partial void RestartNotResumable(this ILogger logger, string source, string pipeline);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Committed {Destination}: {Bytes} bytes, {Sent} sent by this run")]
    public static partial void Committed(this ILogger logger, string destination, long bytes, long sent);

    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "Failed {Source} -> {Destination}: {Error}")]
    public static partial void FileFailed(this ILogger logger, string source, string destination, string error);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Waiting for {Source} -> {Destination}: another process is transferring it")]
    public static partial void Busy(this ILogger logger, string source, string destination);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Listing the destination failed ({Error}); checking each file instead")]
    public static partial void ListingFailed(this ILogger logger, string error);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Skipped {Source} -> {Destination}: the destination already holds this content as {Existing}")]
    public static partial void Duplicate(this ILogger logger, string source, string destination, string existing);

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Upload {Id} created for {Destination}")]
    public static partial void UploadCreated(this ILogger logger, string id, string destination);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Upload {Id} completed: {Bytes} bytes at {Destination}")]
    public static partial void UploadCompleted(this ILogger logger, string id, long bytes, string destination);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Upload {Id} aborted")]
    public static partial void UploadAborted(this ILogger logger, string id);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Upload {Id}: dropping what the destination received failed ({Error}); its bytes may stay there")]
    public static partial void UploadAbortFailed(this ILogger logger, string id, string error);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "Upload {Id}: the destination already holds the finished object (a completion whose record was lost); adopting it")]
    public static partial void UploadAdopted(this ILogger logger, string id);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Upload {Id}: its intermediate object {Destination} was removed")]
    public static partial void UploadObjectRemoved(this ILogger logger, string id, string destination);

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Try {Attempt} failed ({Error}); waiting {Delay} before the next")]
    public static partial void Retrying(this ILogger logger, int attempt, string error, TimeSpan delay);
}
