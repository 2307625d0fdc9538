using Microsoft.Extensions.Logging;

namespace LoadPipe.Server;

/// <summary>The server's log lines, source-generated; event ids 2000-2099.</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Warning, "auth is none: anyone who can reach {Listen} can upload (allowed because it is a loopback address)")]
    public static partial void AuthNone(ILogger logger, string listen);

    [LoggerMessage(2001, LogLevel.Information, "upload {Id} created for {Destination}")]
    public static partial void UploadCreated(ILogger logger, string id, string destination);

    [LoggerMessage(2002, LogLevel.Information, "upload {Id} completed: {Bytes} bytes, sha256 {Sha256}")]
    public static partial void UploadCompleted(ILogger logger, string id, long bytes, string? sha256);

    [LoggerMessage(2003, LogLevel.Information, "upload {Id} expired and was removed")]
    public static partial void UploadExpired(ILogger logger, string id);

    [LoggerMessage(2004, LogLevel.Warning, "the expiration sweep failed: {Message}")]
    public static partial void SweepFailed(ILogger logger, string message);

    [LoggerMessage(2005, LogLevel.Error, "{Method} {Path} failed: {Message}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, string message, Exception exception);

    [LoggerMessage(2006, LogLevel.Debug, "{Method} {Path}: the client went away ({Message})")]
    public static partial void ClientGone(ILogger logger, string method, string path, string message);

    [LoggerMessage(2007, LogLevel.Warning, "{Method} {Path}: {Message}")]
    public static partial void RequestRefused(ILogger logger, string method, string path, string message);

    [LoggerMessage(2008, LogLevel.Warning, "partial upload {Id} was joined but not removed ({Message}); the sweeper removes it once it expires")]
    public static partial void PartialNotRemoved(ILogger logger, string id, string message);
}
