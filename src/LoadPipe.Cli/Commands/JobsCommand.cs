using System.CommandLine;
using System.Globalization;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Jobs;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp jobs add|list|show|cancel|retry|wait`: the job queue in the manifest (docs/queue.md). `lp worker` runs the jobs.</summary>
public static class JobsCommand
{
    public static Command Create()
    {
        var command = new Command("jobs", "Queue copies for `lp worker` to run, and follow them");
        command.Subcommands.Add(Add());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Change("cancel", "Cancel a pending or running job (a running one stops within a second)", (q, id, ct) => q.CancelAsync(id, ct)));
        command.Subcommands.Add(Change("retry", "Queue a failed or cancelled job again, with its attempts reset", (q, id, ct) => q.RetryAsync(id, ct)));
        command.Subcommands.Add(Wait());
        return command;
    }

    /// <summary>The options of a job beyond the copy's flags, shared by `lp jobs add` and `lp schedules add`.</summary>
    internal sealed class JobFlags
    {
        public readonly Option<int?> MaxRetries = new("--max-retries") { Description = $"Attempts after the first before the job fails (default {JobDefaults.MaxAttempts - 1})", CustomParser = NumberArguments.OptionalWhole<int> };
        public readonly Option<int> Priority = new("--priority") { Description = "Higher runs first (default 0)", CustomParser = NumberArguments.Whole<int> };
        public readonly Option<string?> User = new("--user") { Description = "The user the job runs for (their sign-in: lp auth login REMOTE --user NAME)" };
        public readonly TransferFlags Transfer = new();

        public void AddTo(Command command)
        {
            command.Options.Add(MaxRetries);
            command.Options.Add(Priority);
            command.Options.Add(User);
            Transfer.AddTo(command);
        }

        public JobRequest Read(ParseResult parse, string source, string destination) => new(source, destination)
        {
            Settings = Transfer.Read(parse),
            Metadata = Transfer.ReadMetadata(parse),
            User = parse.GetValue(User),
            Priority = parse.GetValue(Priority),
            MaxAttempts = parse.GetValue(MaxRetries) is { } retries
                ? retries < 0 ? throw new LoadPipeException(ErrorKind.Usage, "--max-retries must be 0 or more") : retries + 1
                : JobDefaults.MaxAttempts,
        };
    }

    private static Command Add()
    {
        var source = new Argument<string>("source") { Description = "File, folder, URL or NAME:path" };
        var destination = new Argument<string>("destination") { Description = "File, folder (end it with /) or NAME:path" };
        var after = new Option<string?>("--after") { Description = "Not before this time: an ISO 8601 time (2026-12-08T02:00:00Z) or a delay from now (90s, 10m)" };
        var flags = new JobFlags();
        var command = new Command("add", "Queue a copy (every flag of lp copy); prints the job id") { source, destination, after };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var request = flags.Read(parse, parse.GetValue(source)!, parse.GetValue(destination)!) with
            {
                RunAfter = parse.GetValue(after) is { } text ? ParseAfter(text, session.Host.Time) : null,
            };
            var (job, created) = await session.Host.EnqueueAsync(request, ct).ConfigureAwait(false);
            if (!created) Console.Error.WriteLine($"already queued as job {job.Id} ({JobRows.Name(job.State)})");
            if (session.Json) Console.Out.WriteLine(CliJson.Line(new Dictionary<string, object?> { ["id"] = job.Id, ["created"] = created }));
            else Console.Out.WriteLine(job.Id.ToString(CultureInfo.InvariantCulture));
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var state = new Option<string?>("--state") { Description = "Only jobs in this state: pending, running, completed, failed or cancelled" };
        var user = new Option<string?>("--user") { Description = "Only this user's jobs" };
        var limit = new Option<int>("--limit") { Description = "How many jobs, newest first (default 100)", DefaultValueFactory = _ => 100, CustomParser = NumberArguments.Whole<int> };
        var command = new Command("list", "Jobs, newest first; with --json one object per line") { state, user, limit };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var query = new JobQuery { State = parse.GetValue(state) is { } s ? ParseState(s) : null, User = parse.GetValue(user), Limit = parse.GetValue(limit) };
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            await foreach (var job in queue.ListJobsAsync(query, ct).ConfigureAwait(false))
                Console.Out.WriteLine(session.Json ? CliJson.Line(JobLines.Json(job)) : JobLines.Text(job));
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var id = JobId();
        var command = new Command("show", "One job with its attempts") { id };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            var job = await FindAsync(queue, parse.GetValue(id), ct).ConfigureAwait(false);
            var attempts = await queue.ListAttemptsAsync(job.Id, ct).ConfigureAwait(false);
            if (session.Json)
            {
                Console.Out.WriteLine(CliJson.Line(JobLines.Json(job, attempts)));
                return 0;
            }
            Console.Out.WriteLine(JobLines.Text(job));
            foreach (var a in attempts)
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  run {a.Run} on {a.Worker} {a.StartedAt:yyyy-MM-dd HH:mm:ss}Z -> {(a.EndedAt is { } e ? e.ToString("HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "running")}  sent {a.BytesSent}, resumed {a.BytesResumed}{(a.Error is { } err ? "  " + err : "")}"));
            return 0;
        }));
        return command;
    }

    private static Command Change(string name, string description, Func<IJobQueue, long, CancellationToken, Task<JobRecord>> change)
    {
        var id = JobId();
        var command = new Command(name, description) { id };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            JobRecord job;
            try
            {
                job = await change(queue, parse.GetValue(id), ct).ConfigureAwait(false);
            }
            catch (LoadPipeException e) when (e.Kind == ErrorKind.NotFound)
            {
                throw new LoadPipeException(ErrorKind.Usage, e.Message);
            }
            Console.Out.WriteLine(session.Json ? CliJson.Line(JobLines.Json(job)) : JobLines.Text(job));
            return 0;
        }));
        return command;
    }

    private static Command Wait()
    {
        var id = JobId();
        var timeout = new Option<double?>("--timeout") { Description = "Give up after this many seconds (exit 1; default: wait as long as it takes)", CustomParser = r => NumberArguments.Number(r) };
        var command = new Command("wait", "Wait until a job is completed (exit 0), failed or cancelled (exit 1)") { id, timeout };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            var deadline = parse.GetValue(timeout) is { } seconds ? session.Host.Time.GetUtcNow().AddSeconds(seconds) : (DateTimeOffset?)null;
            var job = await FindAsync(queue, parse.GetValue(id), ct).ConfigureAwait(false);
            while (!job.IsFinal && (deadline is null || session.Host.Time.GetUtcNow() < deadline))
            {
                await queue.WaitForJobsAsync(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
                job = await FindAsync(queue, job.Id, ct).ConfigureAwait(false);
            }
            Console.Out.WriteLine(session.Json ? CliJson.Line(JobLines.Json(job, await queue.ListAttemptsAsync(job.Id, ct).ConfigureAwait(false))) : JobLines.Text(job));
            return job.State == JobState.Completed ? 0 : 1;
        }));
        return command;
    }

    private static Argument<long> JobId() => new("id") { Description = "The job's id (lp jobs list)", CustomParser = NumberArguments.Whole<long> };

    private static async Task<JobRecord> FindAsync(IJobQueue queue, long id, CancellationToken ct) =>
        await queue.GetJobAsync(id, ct).ConfigureAwait(false)
        ?? throw new LoadPipeException(ErrorKind.Usage, $"job {id} does not exist (see lp jobs list)");

    internal static JobState ParseState(string text) => JobRows.TryParseState(text)
        ?? throw new LoadPipeException(ErrorKind.Usage, $"--state '{text}': expected pending, running, completed, failed or cancelled");

    /// <summary>An absolute time, or a delay from now ("90s", "10m", plain seconds).</summary>
    internal static DateTimeOffset ParseAfter(string text, TimeProvider time)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return at;
        var s = text.Trim();
        if (s.EndsWith('h') && double.TryParse(s[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var hours))
            return time.GetUtcNow().AddHours(hours);
        return RemoteDefinition.ParseTimeout(s) is { } delay && delay != Timeout.InfiniteTimeSpan ? time.GetUtcNow() + delay
            : s is "0" or "0s" ? time.GetUtcNow()
            : throw new LoadPipeException(ErrorKind.Usage, $"--after '{text}': expected an ISO 8601 time (2026-12-08T02:00:00Z) or a delay (90s, 10m, 2h)");
    }
}
