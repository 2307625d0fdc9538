using System.CommandLine;
using System.Globalization;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Hosting.Jobs;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp schedules add|list|run|remove`: cron schedules that queue a copy at each tick, run by the workers (docs/queue.md).</summary>
public static class SchedulesCommand
{
    public static Command Create()
    {
        var command = new Command("schedules", "Copies queued on a cron schedule (the workers run the ticks)");
        command.Subcommands.Add(Add());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Run());
        command.Subcommands.Add(Remove());
        return command;
    }

    private static Command Add()
    {
        var name = new Argument<string>("name") { Description = "The schedule's name" };
        var source = new Argument<string>("source") { Description = "File, folder, URL or NAME:path" };
        var destination = new Argument<string>("destination") { Description = "File, folder (end it with /) or NAME:path" };
        var cron = new Option<string>("--cron") { Description = "When: a cron expression, minute hour day month weekday ('0 2 * * *'), or six fields with seconds first", Required = true };
        var tz = new Option<string?>("--tz") { Description = "The time zone the expression is read in (default UTC), e.g. Europe/Paris" };
        var flags = new JobsCommand.JobFlags();
        var command = new Command("add", "Add a schedule: at each tick, the copy is queued (what is already copied is skipped)") { name, source, destination, cron, tz };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var request = flags.Read(parse, parse.GetValue(source)!, parse.GetValue(destination)!);
            var schedule = JobSchedules.Prepare(session.Host, parse.GetValue(name)!, parse.GetValue(cron)!, parse.GetValue(tz), request);
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            await queue.AddScheduleAsync(schedule, ct).ConfigureAwait(false);
            Console.Out.WriteLine(session.Json ? CliJson.Line(JobLines.Json(schedule)) : JobLines.Text(schedule));
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "Schedules with their next tick");
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            foreach (var s in await queue.ListSchedulesAsync(ct).ConfigureAwait(false))
                Console.Out.WriteLine(session.Json ? CliJson.Line(JobLines.Json(s)) : JobLines.Text(s));
            return 0;
        }));
        return command;
    }

    private static Command Run()
    {
        var name = new Argument<string>("name") { Description = "The schedule to run" };
        var now = new Option<bool>("--now") { Description = "Queue its copy now, outside its ticks (the ticks are unchanged)", Required = true };
        var command = new Command("run", "Queue what is new in a schedule's source now; prints one job id per line") { name, now };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            var schedule = await FindAsync(queue, parse.GetValue(name)!, ct).ConfigureAwait(false);
            var stamp = session.Host.Time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            var jobs = await JobSchedules.QueueNewFilesAsync(queue, session.Host.ResolverFor(schedule.User), schedule, $"schedule:{schedule.Name}:now:{stamp}", ct).ConfigureAwait(false);
            foreach (var job in jobs)
                Console.Out.WriteLine(session.Json ? CliJson.Line(new Dictionary<string, object?> { ["id"] = job.Id }) : job.Id.ToString(CultureInfo.InvariantCulture));
            if (jobs.Count == 0) Console.Error.WriteLine($"schedule {schedule.Name}: nothing new to queue");
            return 0;
        }));
        return command;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "The schedule to remove (its queued jobs stay)" };
        var command = new Command("remove", "Remove a schedule") { name };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var queue = await session.Host.JobQueueAsync(ct).ConfigureAwait(false);
            if (!await queue.RemoveScheduleAsync(parse.GetValue(name)!, ct).ConfigureAwait(false))
                throw new LoadPipeException(ErrorKind.Usage, $"no schedule named '{parse.GetValue(name)}' (see lp schedules list)");
            return 0;
        }));
        return command;
    }

    private static async Task<ScheduleRecord> FindAsync(IJobQueue queue, string name, CancellationToken ct) =>
        (await queue.ListSchedulesAsync(ct).ConfigureAwait(false)).FirstOrDefault(s => s.Name == name)
        ?? throw new LoadPipeException(ErrorKind.Usage, $"no schedule named '{name}' (see lp schedules list)");
}
