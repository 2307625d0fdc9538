using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.Tus;

/// <summary>Every log line the tus adapter writes, source-generated. Event ids 7xx. No line holds an upload URL or a token.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Debug,
        Message = "{Endpoint}: tus {Versions}, extensions {Extensions}, max size {MaxSize}, checksums {Checksums}")]
    public static partial void ServerDiscovered(this ILogger logger, string endpoint, string versions, string extensions, string maxSize, string checksums);

    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "{Location}: created an upload of {Length} (checksum per PATCH: {Checksum})")]
    public static partial void UploadCreated(this ILogger logger, string location, string length, string checksum);

    [LoggerMessage(EventId = 702, Level = LogLevel.Information,
        Message = "{Location}: resuming the upload: {Confirmed} bytes confirmed, the server holds {Offset}")]
    public static partial void ResumingUpload(this ILogger logger, string location, long confirmed, long offset);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "{Location}: cannot resume the upload: {Reason}")]
    public static partial void CannotResume(this ILogger logger, string location, string reason);

    [LoggerMessage(EventId = 704, Level = LogLevel.Information,
        Message = "{Location}: the server holds {Held} bytes past the {Confirmed} confirmed (a chunk whose answer was lost, or part of one): they are not sent again")]
    public static partial void SkippingHeldBytes(this ILogger logger, string location, long confirmed, long held);

    [LoggerMessage(EventId = 705, Level = LogLevel.Warning,
        Message = "{Location}: the server offers no termination; the unfinished upload stays on it until it expires")]
    public static partial void CannotTerminate(this ILogger logger, string location);

    [LoggerMessage(EventId = 706, Level = LogLevel.Debug, Message = "{Location}: a PATCH failed or its offset was refused; the server says it holds {Offset} bytes")]
    public static partial void OffsetReread(this ILogger logger, string location, long offset);
}
