using System.Globalization;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Sizes;

namespace LoadPipe.Cli.Output;

/// <summary>How `lp jobs` and `lp schedules` print a job or a schedule: one JSON object (--json) or one line.</summary>
internal static class JobLines
{
    public static Dictionary<string, object?> Json(JobRecord job, IReadOnlyList<JobAttempt>? attempts = null)
    {
        var obj = new Dictionary<string, object?>
        {
            ["id"] = job.Id,
            ["state"] = JobRows.Name(job.State),
            ["phase"] = job.Phase,
            ["source"] = Location.Display(job.Source),
            ["destination"] = Location.Display(job.Destination),
            ["progress"] = new Dictionary<string, object?> { ["bytes_done"] = job.BytesDone, ["bytes_total"] = job.BytesTotal, ["message"] = job.Message },
            ["error"] = job.Error,
            ["user"] = job.User,
            ["priority"] = job.Priority,
            ["attempt"] = job.Attempt,
            ["max_attempts"] = job.MaxAttempts,
            ["run_after"] = Time(job.RunAfter),
            ["worker"] = job.Holder,
            ["lease_expires"] = job.LeaseExpires is { } lease ? Time(lease) : null,
            ["cancel_requested"] = job.CancelRequested,
            ["schedule"] = job.Schedule,
            ["session"] = job.SessionId,
            ["created_at"] = Time(job.CreatedAt),
            ["updated_at"] = Time(job.UpdatedAt),
            ["finished_at"] = job.FinishedAt is { } f ? Time(f) : null,
            ["delivered"] = job.Delivered is { } d ? Location.Display(d) : null,
            ["duplicate_of"] = job.DuplicateOf,
        };
        if (attempts is not null)
            obj["attempts"] = attempts.Select(a => new Dictionary<string, object?>
            {
                ["run"] = a.Run,
                ["worker"] = a.Worker,
                ["started_at"] = Time(a.StartedAt),
                ["ended_at"] = a.EndedAt is { } e ? Time(e) : null,
                ["bytes_sent"] = a.BytesSent,
                ["bytes_resumed"] = a.BytesResumed,
                ["error"] = a.Error,
                ["session"] = a.SessionId,
            }).ToList();
        return obj;
    }

    public static string Text(JobRecord job)
    {
        var progress = job.BytesTotal > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{ByteSize.Format(job.BytesDone)}/{ByteSize.Format(job.BytesTotal)}")
            : ByteSize.Format(job.BytesDone);
        var state = job.State == JobState.Running && job.Phase is { } phase ? $"running:{phase}" : JobRows.Name(job.State);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{job.Id,6} {state,-18} {job.Attempt}/{job.MaxAttempts} {progress,-20} {Location.Display(job.Source)} -> {Location.Display(job.Destination)}");
        return job.Error is { } error && job.State != JobState.Completed ? line + "  (" + error + ")" : line;
    }

    public static Dictionary<string, object?> Json(ScheduleRecord s) => new()
    {
        ["name"] = s.Name,
        ["cron"] = s.Cron,
        ["time_zone"] = s.TimeZone,
        ["source"] = Location.Display(s.Source),
        ["destination"] = Location.Display(s.Destination),
        ["next_tick"] = Time(s.NextTick),
        ["last_tick"] = s.LastTick is { } t ? Time(t) : null,
        ["last_job"] = s.LastJobId,
    };

    public static string Text(ScheduleRecord s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Name,-16} {s.Cron,-16} {s.TimeZone,-14} next {s.NextTick:yyyy-MM-dd HH:mm:ss}Z  {Location.Display(s.Source)} -> {Location.Display(s.Destination)}");

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
