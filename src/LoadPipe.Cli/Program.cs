using System.CommandLine;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LoadPipe.Cli.Commands;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Cli;

public static class Program
{
    private static readonly CancellationTokenSource Interrupt = new();

    public static async Task<int> Main(string[] args)
    {
        // The hashes come from OpenSSL, whose loading and set-up take ~20 ms: done on another core while the command
        // line is parsed and the manifest opened, rather than when the first chunk waits for its hash.
        if (args is ["copy" or "sync" or "pull" or "push" or "retry", ..])
            ThreadPool.UnsafeQueueUserWorkItem(static _ => SHA256.HashData(ReadOnlySpan<byte>.Empty), null);
        var root = new RootCommand("lp: move files of any size between stores, streamed, chunked, resumable");
        foreach (var option in GlobalOptions.All) root.Options.Add(option);
        root.Subcommands.Add(CopyCommands.Copy());
        root.Subcommands.Add(CopyCommands.Pull());
        root.Subcommands.Add(CopyCommands.Push());
        root.Subcommands.Add(ListCommand.Create());
        root.Subcommands.Add(FetchCommand.Create());
        root.Subcommands.Add(SyncCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(SessionCommands.Sessions());
        root.Subcommands.Add(ProjectsCommand.Create());
        root.Subcommands.Add(SessionCommands.Retry());
        root.Subcommands.Add(SessionCommands.Notify());
        root.Subcommands.Add(CleanupCommand.Create());
        root.Subcommands.Add(AuthCommands.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(JobsCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(SchedulesCommand.Create());
        root.Subcommands.Add(FilesCommand.Create());

        // Ctrl-C and SIGTERM stop cleanly: the current chunk is abandoned, everything confirmed stays confirmed.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine("error: " + error.Message);
            Console.Error.WriteLine("Try 'lp --help'.");
            if (SummaryOutput(parse) is { } summary && parse.GetValue(GlobalOptions.Json))
                SummaryWriter.WriteEnded(SessionStatus.Failed, parse.Errors[0].Message, summary, null, 0);
            return SummaryWriter.Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, Interrupt.Token)
            .ConfigureAwait(false);
    }

    /// <summary>Where the command's --json summary goes, for the commands that end with one: stderr when stdout carries
    /// the data (`lp pull`, a copy to -); null for the other commands.</summary>
    public static TextWriter? SummaryOutput(ParseResult parse) => parse.CommandResult.Command.Name switch
    {
        "pull" => Console.Error,
        "copy" when parse.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>().LastOrDefault()?.Tokens is [{ Value: "-" }] => Console.Error,
        "copy" or "push" or "sync" or "retry" => Console.Out,
        "fetch" => Console.Out,
        _ => null,
    };

    /// <summary>The first Ctrl-C (or SIGTERM) stops cleanly: what is in hand is finished or abandoned at a chunk's end.
    /// A second one exits at once with 130: everything confirmed is in the manifest already (as after a kill), and the
    /// next run continues from there.</summary>
    private static void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interrupt.IsCancellationRequested)
        {
            Console.Error.WriteLine("interrupted again: stopping now; run the same command again to continue");
            Environment.Exit(SummaryWriter.Interrupted);
        }
        Console.Error.WriteLine("stopping: finishing what is in hand (interrupt again to stop at once)");
        Interrupt.Cancel();
    }

    /// <summary>Runs a command body with the session it needs, turning every failure into one line and an exit code.
    /// With --json, a command that ends with a run's summary (<see cref="SummaryOutput"/>) still ends with one when the
    /// run fails before it or is interrupted, with its status and error. <paramref name="allowExec"/> is false for a
    /// command that serves others (`lp serve`): no client may run a command through an exec: stage.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<CliSession, Task<int>> body, bool allowExec = true)
    {
        var debug = parse.GetValue(GlobalOptions.Debug);
        var json = parse.GetValue(GlobalOptions.Json) ? SummaryOutput(parse) : null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await using var session = CliSession.Create(parse, allowExec);
            return await body(session).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (Interrupt.IsCancellationRequested)
        {
            const string message = "interrupted: progress so far is saved; run the same command again to continue";
            Console.Error.WriteLine(message);
            if (json is not null) SummaryWriter.WriteEnded(SessionStatus.Interrupted, message, json, (e as TransferInterruptedException)?.Summary, clock.Elapsed.TotalSeconds);
            return SummaryWriter.Interrupted;
        }
        catch (LoadPipeException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            if (debug) Console.Error.WriteLine(e);
            if (json is not null) SummaryWriter.WriteEnded(SessionStatus.Failed, e.Message, json, null, clock.Elapsed.TotalSeconds);
            return e.Kind == ErrorKind.Usage ? SummaryWriter.Usage : SummaryWriter.Failed;
        }
        catch (Exception e)
        {
            var message = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
            Console.Error.WriteLine($"error: {message}{(debug ? "" : " (run with --debug for details)")}");
            if (debug) Console.Error.WriteLine(e);
            if (json is not null) SummaryWriter.WriteEnded(SessionStatus.Failed, message, json, null, clock.Elapsed.TotalSeconds);
            return SummaryWriter.Failed;
        }
    }
}
