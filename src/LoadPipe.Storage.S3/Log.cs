using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.S3;

/// <summary>Every log line the S3 adapter writes, source-generated. Event ids 3xx. No line holds a credential.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Warning,
        Message = "{Location}: {Server} cannot list the parts of upload {UploadId} ({Code}); resuming from the manifest's record of its {Parts} parts alone")]
    public static partial void ListPartsUnsupported(this ILogger logger, string location, string server, string uploadId, string? code, int parts);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information,
        Message = "{Location}: resuming upload {UploadId}: the server lists {ServerParts} parts, {KeptParts} of them confirmed ({Bytes} bytes)")]
    public static partial void ResumingUpload(this ILogger logger, string location, string uploadId, int serverParts, int keptParts, long bytes);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning,
        Message = "{Location}: cannot resume upload {UploadId}: {Reason}")]
    public static partial void CannotResume(this ILogger logger, string location, string uploadId, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning,
        Message = "{Location}: {Server} cannot abort upload {UploadId} ({Code}); its parts stay until the bucket's lifecycle rule removes them")]
    public static partial void AbortUnsupported(this ILogger logger, string location, string server, string uploadId, string? code);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information,
        Message = "{Location}: the upload was already completed by an earlier try whose answer was lost; the object has the expected {Bytes} bytes")]
    public static partial void CompletedEarlier(this ILogger logger, string location, long bytes);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "{Location}: started multipart upload {UploadId} (parts of at least {PartSize} bytes)")]
    public static partial void UploadStarted(this ILogger logger, string location, string uploadId, long partSize);

    [LoggerMessage(EventId = 306, Level = LogLevel.Debug, Message = "{Location}: copied server-side from {Source} ({Bytes} bytes, {Parts} parts)")]
    public static partial void CopiedServerSide(this ILogger logger, string location, string source, long bytes, int parts);
}
