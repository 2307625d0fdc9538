using System.CommandLine;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Cli.Output;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp sync --config FILE [--job NAME]`: runs the config's jobs in order.</summary>
public static class SyncCommand
{
    public static Command Create()
    {
        var job = new Option<string[]>("--job") { Description = "Run only this job (repeatable); default all" };
        var flags = new TransferFlags();
        var command = new Command("sync", "Run the jobs of the config file") { job };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var jobs = session.Host.Config.Jobs;
            if (jobs.Count == 0)
                throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Usage, $"config {session.Host.Config.Path}: no jobs to run (add a 'jobs:' list)");
            var only = parse.GetValue(job) ?? [];
            var unknown = only.Except(jobs.Select(j => j.Name)).ToList();
            if (unknown.Count > 0)
                throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Usage, $"unknown job '{unknown[0]}' (jobs: {string.Join(", ", jobs.Select(j => j.Name))})");
            var worst = 0;
            foreach (var definition in jobs.Where(j => only.Length == 0 || only.Contains(j.Name)))
            {
                if (!session.Quiet && !session.Json) Console.Error.WriteLine($"job {definition.Name}: {definition.Source} -> {definition.Destination}");
                var code = await CopyCommands.RunAsync(session, definition.Source, definition.Destination, flags.Read(parse), "sync", ct, definition.Settings, (flags, parse)).ConfigureAwait(false);
                worst = Math.Max(worst, code == SummaryWriter.Failed ? 4 : code);
            }
            return worst == 4 ? SummaryWriter.Failed : worst;
        }));
        return command;
    }
}
