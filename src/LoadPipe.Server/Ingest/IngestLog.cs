using Microsoft.Extensions.Logging;

namespace LoadPipe.Server;

/// <summary>The ingest API's log lines; event ids 2100-2199.</summary>
internal static partial class Log
{
    [LoggerMessage(2100, LogLevel.Warning, "storage element {Element} failed before the file's body was read, trying another: {Message}")]
    public static partial void ElementFailed(ILogger logger, string element, string message);

    [LoggerMessage(2101, LogLevel.Information, "file {FileId} uploaded to {Element} as {Name}: {Bytes} bytes, sha256 {Sha256}")]
    public static partial void FileUploaded(ILogger logger, string fileId, string element, string name, long bytes, string sha256);

    [LoggerMessage(2102, LogLevel.Information, "file {FileId} deleted from {Element}")]
    public static partial void FileDeleted(ILogger logger, string fileId, string element);
}

internal static partial class Log
{
    [LoggerMessage(2103, LogLevel.Warning, "{Saga} saga: step {Step} failed (attempt {Attempt}), retrying: {Message}")]
    public static partial void SagaStepRetried(ILogger logger, string saga, string step, int attempt, string message);

    [LoggerMessage(2104, LogLevel.Error, "{Saga} saga: undoing {Step} failed: {Message}")]
    public static partial void CompensationFailed(ILogger logger, string saga, string step, string message);

    [LoggerMessage(2105, LogLevel.Error, "{Saga} saga of file {FileId} ended {Status} but could not be recorded: {Message}")]
    public static partial void SagaNotRecorded(ILogger logger, string saga, string fileId, string status, string message);

    [LoggerMessage(2106, LogLevel.Warning, "the audit log could not be written: {Message}")]
    public static partial void AuditFailed(ILogger logger, string message);
}

internal static partial class Log
{
    [LoggerMessage(2120, LogLevel.Warning, "file {Name} refused: clamd found {Found}")]
    public static partial void VirusFound(ILogger logger, string name, string found);

    [LoggerMessage(2121, LogLevel.Warning, "the virus scan failed and clamav.fail_open is set: file {Name} is stored unscanned ({Message})")]
    public static partial void ScanSkipped(ILogger logger, string name, string message);
}

internal static partial class Log
{
    [LoggerMessage(2130, LogLevel.Information, "storage element discovery: subscribed to {Channel} on Redis at {Redis}")]
    public static partial void DiscoverySubscribed(ILogger logger, string redis, string channel);

    [LoggerMessage(2131, LogLevel.Warning, "storage element discovery: Redis at {Redis} cannot be reached ({Message}); trying again")]
    public static partial void DiscoveryLost(ILogger logger, string redis, string message);

    [LoggerMessage(2132, LogLevel.Information, "storage elements from {Source}: {Count} ({Ids})")]
    public static partial void DiscoveryApplied(ILogger logger, string source, int count, string ids);

    [LoggerMessage(2133, LogLevel.Warning, "storage element list from {Source} ignored: {Message}")]
    public static partial void DiscoveryIgnored(ILogger logger, string source, string message);

    [LoggerMessage(2134, LogLevel.Warning, "storage element discovery: no fallback file {Path} ({Message}); the list in force stays")]
    public static partial void DiscoveryNoFallback(ILogger logger, string path, string message);
}

internal static partial class Log
{
    [LoggerMessage(2160, LogLevel.Warning, "{Event} of file {FileId} could not be published now, kept to send when Redis answers: {Message}")]
    public static partial void EventKept(ILogger logger, string @event, string fileId, string message);

    [LoggerMessage(2161, LogLevel.Information, "{Count} kept file events published (at {At})")]
    public static partial void OutboxSent(ILogger logger, int count, DateTimeOffset at);

    [LoggerMessage(2162, LogLevel.Warning, "kept file events not published yet, trying again: {Message}")]
    public static partial void OutboxNotSent(ILogger logger, string message);
}

internal static partial class Log
{
    [LoggerMessage(2170, LogLevel.Warning, "storage element {Element}: removed {Name}, a {Kind} no file record or upload claims (left by a crash)")]
    public static partial void LeftoverRemoved(ILogger logger, string element, string name, string kind);

    [LoggerMessage(2171, LogLevel.Warning, "storage element {Element}: the sweep for what crashed uploads left failed: {Message}")]
    public static partial void LeftoverSweepFailed(ILogger logger, string element, string message);
}
