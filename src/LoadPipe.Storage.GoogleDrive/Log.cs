using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>Every log line the Drive adapter writes, source-generated. Event ids 5xx. No line holds a token or a session URI.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Warning,
        Message = "{Location}: {Count} files of this name in one folder; using the oldest ({FileId})")]
    public static partial void DuplicateName(this ILogger logger, string location, int count, string fileId);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning,
        Message = "{Location}: skipped, a Google document ({MimeType}) has no bytes to copy, and none of the remote's export_formats fits it")]
    public static partial void SkippedGoogleDocument(this ILogger logger, string location, string? mimeType);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information,
        Message = "{Location}: resuming the upload session: {State}")]
    public static partial void ResumingUpload(this ILogger logger, string location, string state);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "{Location}: cannot resume the upload session: {Reason}")]
    public static partial void CannotResume(this ILogger logger, string location, string reason);

    [LoggerMessage(EventId = 504, Level = LogLevel.Debug, Message = "{Location}: created folder {FolderId}")]
    public static partial void FolderCreated(this ILogger logger, string location, string folderId);

    [LoggerMessage(EventId = 505, Level = LogLevel.Debug, Message = "{Location}: started an upload session ({Kind})")]
    public static partial void UploadStarted(this ILogger logger, string location, string kind);
}
