using System.Globalization;
using Cronos;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;
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

    /// <summary>The job a schedule queues for a source that is one file (at a tick, or `lp schedules run NAME --now`).</summary>
    public static NewJob JobOf(ScheduleRecord schedule, string uniqueKey) =>
        new(schedule.Source, schedule.Destination, schedule.Options)
        {
            User = schedule.User, Priority = schedule.Priority, MaxAttempts = schedule.MaxAttempts, Schedule = schedule.Name, UniqueKey = uniqueKey,
        };

    /// <summary>Claims every due tick this worker wins and queues what it finds new. Returns the jobs it queued.</summary>
    /// <remarks>A folder source: the tick is claimed alone (<see cref="IJobQueue.ClaimTickAsync"/>), then the folder is
    /// listed and each file the schedule never queued gets a job (<see cref="QueueNewFilesAsync"/>); a file the schedule
    /// queued before is recorded and never queued again, so a scan run twice, or by two workers, queues nothing more, and
    /// a scan cut short is completed by the next tick. A one-file source: the tick and its job in one transaction.</remarks>
    /// <param name="resolverFor">The resolver that signs in as a schedule's user (<see cref="LoadPipeHost.ResolverFor"/>):
    /// a user's folder is listed with that user's sign-in only.</param>
    public static async Task<int> RunDueAsync(IJobQueue queue, Func<string?, LocationResolver> resolverFor, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var queued = 0;
        var now = time.GetUtcNow();
        foreach (var schedule in await queue.ListSchedulesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (schedule.NextTick > now) continue;
            try
            {
                var resolver = resolverFor(schedule.User);
                var next = Next(schedule.Cron, schedule.TimeZone, now);
                var key = $"schedule:{schedule.Name}:{schedule.NextTick.ToUnixTimeMilliseconds()}";
                if (await IsFolderAsync(resolver, schedule, cancellationToken).ConfigureAwait(false))
                {
                    if (!await queue.ClaimTickAsync(schedule.Name, schedule.NextTick, next, cancellationToken).ConfigureAwait(false)) continue;
                    var jobs = await QueueNewFilesAsync(queue, resolver, schedule, key, cancellationToken).ConfigureAwait(false);
                    logger.ScheduleFiles(schedule.Name, schedule.NextTick, jobs.Count);
                    queued += jobs.Count;
                }
                else if (await queue.ClaimScheduleTickAsync(schedule.Name, schedule.NextTick, next, JobOf(schedule, key), cancellationToken).ConfigureAwait(false) is { } job)
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

    private static async Task<bool> IsFolderAsync(LocationResolver resolver, ScheduleRecord schedule, CancellationToken cancellationToken)
    {
        var source = resolver.Resolve(schedule.Source);
        return await source.Storage.StatAsync(source.Path, cancellationToken).ConfigureAwait(false) is { IsDirectory: true };
    }

    /// <summary>
    /// Seed 003's FolderUploadService: lists the schedule's source folder and queues one job per file the schedule has
    /// not queued before (a file is known by its location key and its identity: size and version or modified time, so a
    /// file that changed is new again). A source that is one file gets one job, unique by <paramref name="onceKey"/>.
    /// Returns the jobs queued.
    /// </summary>
    public static async Task<IReadOnlyList<JobRecord>> QueueNewFilesAsync(IJobQueue queue, LocationResolver resolver, ScheduleRecord schedule, string onceKey,
        CancellationToken cancellationToken)
    {
        var source = resolver.Resolve(schedule.Source);
        var info = await source.Storage.StatAsync(source.Path, cancellationToken).ConfigureAwait(false);
        if (info is not { IsDirectory: true })
        {
            var (job, created) = await queue.EnqueueAsync(JobOf(schedule, onceKey), cancellationToken).ConfigureAwait(false);
            return created ? [job] : [];
        }
        var quotaScope = JobSubmissions.QuotaScope(schedule.Destination, resolver.Resolve(schedule.Destination));
        var queued = new List<JobRecord>();
        await foreach (var entry in source.Storage.ListAsync(source.Path, recursive: true, cancellationToken).ConfigureAwait(false))
        {
            if (entry.IsDirectory || entry.SpecialFileKind is not null) continue;
            var identity = entry.Version ?? entry.Modified?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            var fileKey = string.Create(CultureInfo.InvariantCulture, $"{source.Child(entry.Path).Key}\n{entry.Size}\n{identity}");
            var job = new NewJob(Under(schedule.Source, entry.Path), FolderOf(schedule.Destination, entry.Path), schedule.Options)
            {
                User = schedule.User, Priority = schedule.Priority, MaxAttempts = schedule.MaxAttempts, Schedule = schedule.Name,
                UniqueKey = $"schedule:{schedule.Name}\n{fileKey}", QuotaScope = quotaScope,
            };
            if (await queue.EnqueueScheduledFileAsync(schedule.Name, fileKey, job, cancellationToken).ConfigureAwait(false) is { } queuedJob) queued.Add(queuedJob);
        }
        return queued;
    }

    /// <summary>The text of <paramref name="relative"/> below a location's text.</summary>
    private static string Under(string folder, string relative) =>
        folder.EndsWith('/') || folder.EndsWith(':') ? folder + relative : folder + "/" + relative;

    /// <summary>The folder a file listed at <paramref name="relative"/> goes to, with a trailing '/' so that it keeps its name.</summary>
    private static string FolderOf(string destination, string relative)
    {
        var slash = relative.LastIndexOf('/');
        var folder = destination.EndsWith('/') || destination.EndsWith(':') ? destination : destination + "/";
        return slash < 0 ? folder : folder + relative[..(slash + 1)];
    }
}
