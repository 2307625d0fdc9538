using System.CommandLine;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;
using LoadPipe.Hosting.Jobs;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp worker`: runs the queued jobs (docs/queue.md). Start as many as you like, on as many machines as share
/// a PostgreSQL manifest; SIGTERM (or Ctrl-C) drains: the jobs in hand finish, or are handed back after --grace.</summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var concurrency = new Option<int>("--concurrency", "-c") { Description = "Jobs run at once (default 1)", DefaultValueFactory = _ => 1, CustomParser = NumberArguments.Whole<int> };
        var name = new Option<string?>("--name") { Description = "This worker's name in the queue (default HOST:PID)" };
        var lease = new Option<string>("--lease") { Description = "How long a claimed job stays this worker's without a heartbeat; another worker takes it over after (default 30s)", DefaultValueFactory = _ => "30s" };
        var grace = new Option<string>("--grace") { Description = "On SIGTERM, how long jobs in hand may finish before they are handed back (default 30s)", DefaultValueFactory = _ => "30s" };
        var poll = new Option<string>("--poll") { Description = "The longest an idle worker waits before looking at the queue again (default 1s; PostgreSQL wakes it at once with NOTIFY)", DefaultValueFactory = _ => "1s" };
        var retryDelay = new Option<string>("--retry-delay") { Description = "The wait after a job's first failed attempt, doubling each attempt, with jitter (default 10s)", DefaultValueFactory = _ => "10s" };
        var exitWhenIdle = new Option<bool>("--exit-when-idle") { Description = "Stop once no job is ready and none runs (a batch run)" };
        var noSchedules = new Option<bool>("--no-schedules") { Description = "Do not run the schedules' ticks on this worker" };
        var command = new Command("worker", "Run queued jobs (lp jobs add): claims, heartbeats, cancels, takes over jobs of workers that died")
            { concurrency, name, lease, grace, poll, retryDelay, exitWhenIdle, noSchedules };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            if (parse.GetValue(concurrency) < 1) throw new LoadPipeException(ErrorKind.Usage, "--concurrency must be 1 or more");
            var first = Duration(parse.GetValue(retryDelay)!, "--retry-delay");
            var options = new JobWorkerOptions
            {
                Name = parse.GetValue(name),
                Concurrency = parse.GetValue(concurrency),
                Lease = Duration(parse.GetValue(lease)!, "--lease"),
                Grace = Duration(parse.GetValue(grace)!, "--grace"),
                PollInterval = Duration(parse.GetValue(poll)!, "--poll"),
                Backoff = new JobBackoff(first, first > JobDefaults.MaxBackoff ? first : JobDefaults.MaxBackoff),
                ExitWhenIdle = parse.GetValue(exitWhenIdle),
                RunSchedules = !parse.GetValue(noSchedules),
            };
            if (options.Lease < TimeSpan.FromSeconds(1)) throw new LoadPipeException(ErrorKind.Usage, "--lease must be 1s or more");
            var worker = new JobWorker(session.Host, options);
            if (!session.Quiet) Console.Error.WriteLine($"worker {worker.Name}: running up to {options.Concurrency} job(s) from {session.Host.ManifestTarget.Split('?')[0]}");
            // The signal token (SIGTERM, Ctrl-C) starts the drain; the drain itself is not cut short by it.
            await worker.RunAsync(ct).ConfigureAwait(false);
            return 0;
        }, allowExec: false));
        return command;
    }

    internal static TimeSpan Duration(string text, string flag) =>
        RemoteDefinition.ParseTimeout(text) is { } d && d != Timeout.InfiniteTimeSpan ? d
        : throw new LoadPipeException(ErrorKind.Usage, $"{flag} '{text}': expected a duration such as 30s, 2m or 500ms");
}
