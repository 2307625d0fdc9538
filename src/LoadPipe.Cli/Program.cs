using System.CommandLine;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LoadPipe.Cli.Commands;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;

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
        root.Subcommands.Add(SyncCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(SessionCommands.Sessions());
        root.Subcommands.Add(SessionCommands.Retry());
        root.Subcommands.Add(SessionCommands.Notify());
        root.Subcommands.Add(CleanupCommand.Create());
        root.Subcommands.Add(AuthCommands.Create());

        // Ctrl-C and SIGTERM stop cleanly: the current chunk is abandoned, everything confirmed stays confirmed.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine("error: " + error.Message);
            Console.Error.WriteLine("Try 'lp --help'.");
            return SummaryWriter.Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, Interrupt.Token)
            .ConfigureAwait(false);
    }

    private static void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        Interrupt.Cancel();
    }

    /// <summary>Runs a command body with the session it needs, turning every failure into one line and an exit code.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<CliSession, Task<int>> body)
    {
        var debug = parse.GetValue(GlobalOptions.Debug);
        try
        {
            await using var session = CliSession.Create(parse);
            return await body(session).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Interrupt.IsCancellationRequested)
        {
            Console.Error.WriteLine("interrupted: progress so far is saved; run the same command again to continue");
            return SummaryWriter.Interrupted;
        }
        catch (LoadPipeException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            if (debug) Console.Error.WriteLine(e);
            return e.Kind == ErrorKind.Usage ? SummaryWriter.Usage : SummaryWriter.Failed;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message.Split('\n')[0]}{(debug ? "" : " (run with --debug for details)")}");
            if (debug) Console.Error.WriteLine(e);
            return SummaryWriter.Failed;
        }
    }
}
