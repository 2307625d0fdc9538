using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting;

/// <summary>The log messages of the hosting layer (the job worker and scheduler), source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "JobStarted", Level = LogLevel.Information, Message = "job {JobId}: started (attempt {Attempt} of {MaxAttempts}): {Source} -> {Destination}")]
    public static partial void JobStarted(this ILogger logger, long jobId, int attempt, int maxAttempts, string source, string destination);

    [LoggerMessage(EventId = 2, EventName = "JobCompleted", Level = LogLevel.Information, Message = "job {JobId}: completed: {Message}")]
    public static partial void JobCompleted(this ILogger logger, long jobId, string message);

    [LoggerMessage(EventId = 3, EventName = "JobFailed", Level = LogLevel.Warning, Message = "job {JobId}: failed (attempt {Attempt} of {MaxAttempts}): {Error}")]
    public static partial void JobFailed(this ILogger logger, long jobId, int attempt, int maxAttempts, string error);

    [LoggerMessage(EventId = 4, EventName = "JobCancelled", Level = LogLevel.Information, Message = "job {JobId}: cancelled")]
    public static partial void JobCancelled(this ILogger logger, long jobId);

    [LoggerMessage(EventId = 5, EventName = "JobLost", Level = LogLevel.Warning, Message = "job {JobId}: taken over by another worker (this worker's lease expired); stopped here")]
    public static partial void JobLost(this ILogger logger, long jobId);

    [LoggerMessage(EventId = 6, EventName = "JobHandedBack", Level = LogLevel.Information, Message = "job {JobId}: handed back (the worker is stopping); it resumes from its last confirmed chunk")]
    public static partial void JobHandedBack(this ILogger logger, long jobId);

    [LoggerMessage(EventId = 7, EventName = "JobQuotaWait", Level = LogLevel.Warning, Message = "job {JobId}: waits for the quota until {Until:O}: {Reason}")]
    public static partial void JobQuotaWait(this ILogger logger, long jobId, DateTimeOffset until, string reason);

    [LoggerMessage(EventId = 8, EventName = "QueueUnreachable", Level = LogLevel.Warning, Message = "job queue: {Error}; trying again")]
    public static partial void QueueUnreachable(this ILogger logger, string error);

    [LoggerMessage(EventId = 9, EventName = "ScheduleTick", Level = LogLevel.Information, Message = "schedule {Name}: tick {Tick:O} queued job {JobId}")]
    public static partial void ScheduleTick(this ILogger logger, string name, DateTimeOffset tick, long jobId);

    [LoggerMessage(EventId = 10, EventName = "ScheduleFailed", Level = LogLevel.Warning, Message = "schedule {Name}: {Error}")]
    public static partial void ScheduleFailed(this ILogger logger, string name, string error);

    [LoggerMessage(EventId = 11, EventName = "WorkerDraining", Level = LogLevel.Information, Message = "worker {Worker}: stopping: finishing {Running} job(s), handing back what is left after {Grace}")]
    public static partial void WorkerDraining(this ILogger logger, string worker, int running, TimeSpan grace);

    [LoggerMessage(EventId = 12, EventName = "JobWaitsForContent", Level = LogLevel.Information, Message = "job {JobId}: job {Other} is delivering the same content; waiting for it")]
    public static partial void JobWaitsForContent(this ILogger logger, long jobId, long other);

    [LoggerMessage(EventId = 13, EventName = "ScheduleFiles", Level = LogLevel.Information, Message = "schedule {Name}: tick {Tick:O} queued {Count} new file(s)")]
    public static partial void ScheduleFiles(this ILogger logger, string name, DateTimeOffset tick, int count);
}
