using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.YouTube;

/// <summary>Every log line of the YouTube adapter, source-generated. Event ids 5xx.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "{Path}: started upload of '{Title}' ({Bytes} bytes)")]
    public static partial void UploadStarted(this ILogger logger, string path, string title, long bytes);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "{Path}: uploaded as video {VideoId}")]
    public static partial void Uploaded(this ILogger logger, string path, string videoId);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "{Path}: the same content is video {VideoId}, which still exists")]
    public static partial void DuplicateFound(this ILogger logger, string path, string videoId);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "{Path}: video {VideoId}, uploaded earlier with the same content, was deleted: uploading again")]
    public static partial void DuplicateDeleted(this ILogger logger, string path, string videoId);

    [LoggerMessage(EventId = 504, Level = LogLevel.Information, Message = "{Path}: cannot resume the upload: {Why}")]
    public static partial void CannotResume(this ILogger logger, string path, string why);

    [LoggerMessage(EventId = 505, Level = LogLevel.Information, Message = "{Path}: resuming the upload: {State}")]
    public static partial void ResumingUpload(this ILogger logger, string path, string state);

    [LoggerMessage(EventId = 506, Level = LogLevel.Debug, Message = "{Path}: no MD5 of the content is known: no duplicate check")]
    public static partial void NoHashNoCheck(this ILogger logger, string path);
}
