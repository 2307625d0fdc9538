using Cronos;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting.Jobs;

/// <summary>
/// Cron schedules (Cronos parses the expression and finds the next occurrence in the schedule's time zone). A schedule
/// is a row with its next tick; every worker looks at the due ones, and the tick goes to the one whose compare-and-set
/// on the next tick succeeds (<see cref="IJobQueue.ClaimScheduleTickAsync"/>), which queues the copy in the same
/// transaction: each tick runs once across all workers. The next tick is computed from now, not from the missed one,
/// so ticks missed while no worker ran are run once, not once each.
/// </summary>
public static class JobSchedules
{
    /// <summary>Five fields (minute hour day month weekday) or six (with seconds first). Usage error otherwise.</summary>
    public static CronExpression ParseCron(string expression)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        try
        {
            return CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            var reason = e.Message.Split('\n')[0].Replace("The given cron expression has an invalid format. ", "", StringComparison.Ordinal);
            throw new LoadPipeException(ErrorKind.Usage, $"bad cron expression '{expression}': {reason} (five fields: minute hour day month weekday, e.g. '0 2 * * *')");
        }
    }

    public static TimeZoneInfo ParseTimeZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"unknown time zone '{id}' (an IANA id such as Europe/Paris, or UTC)");
        }
    }

    /// <summary>The first occurrence after <paramref name="after"/>; usage error when the expression never fires again.</summary>
    public static DateTimeOffset Next(string cron, string timeZone, DateTimeOffset after) =>
        ParseCron(cron).GetNextOccurrence(after, ParseTimeZone(timeZone))
        ?? throw new LoadPipeException(ErrorKind.Usage, $"cron expression '{cron}' has no occurrence after {after:O}");

    /// <summary>A schedule to add, checked (the cron expression, the time zone, and the copy as `lp jobs add` checks it).</summary>
    public static ScheduleRecord Prepare(LoadPipeHost host, string name, string cron, string? timeZone, JobRequest request)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Any(char.IsWhiteSpace))
            throw new LoadPipeException(ErrorKind.Usage, $"bad schedule name '{name}': one word, no spaces");
        var zone = timeZone ?? "UTC";
        var next = Next(cron, zone, host.Time.GetUtcNow());
        var job = JobSubmissions.Prepare(host, request);
        return new ScheduleRecord
        {
            Name = name, Cron = cron, TimeZone = zone, Source = job.Source, Destination = job.Destination, Options = job.Options,
            User = job.User, Priority = job.Priority, MaxAttempts = job.MaxAttempts, NextTick = next,
        };
    }

    /// <summary>The job a schedule queues (at a tick, or `lp schedules run NAME --now`).</summary>
    public static NewJob JobOf(ScheduleRecord schedule, string uniqueKey) =>
        new(schedule.Source, schedule.Destination, schedule.Options)
        {
            User = schedule.User, Priority = schedule.Priority, MaxAttempts = schedule.MaxAttempts, Schedule = schedule.Name, UniqueKey = uniqueKey,
        };

    /// <summary>Claims and queues every due tick this worker wins. Returns the jobs it queued.</summary>
    public static async Task<int> RunDueAsync(IJobQueue queue, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var queued = 0;
        var now = time.GetUtcNow();
        foreach (var schedule in await queue.ListSchedulesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (schedule.NextTick > now) continue;
            try
            {
                var next = Next(schedule.Cron, schedule.TimeZone, now);
                var key = $"schedule:{schedule.Name}:{schedule.NextTick.ToUnixTimeMilliseconds()}";
                if (await queue.ClaimScheduleTickAsync(schedule.Name, schedule.NextTick, next, JobOf(schedule, key), cancellationToken).ConfigureAwait(false) is { } job)
                {
                    logger.ScheduleTick(schedule.Name, schedule.NextTick, job.Id);
                    queued++;
                }
            }
            catch (LoadPipeException e)
            {
                logger.ScheduleFailed(schedule.Name, e.Message);
            }
        }
        return queued;
    }
}
