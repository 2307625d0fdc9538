using System.CommandLine;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Storage.YouTube;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp copy SRC DST`, `lp pull SRC` (to stdout) and `lp push DST` (from stdin); `lp pull --file SRC` and
/// `lp push --folder DIR --name FILE` as seed 000 writes them (<see cref="FlagAliases"/>).</summary>
public static class CopyCommands
{
    public static Command Copy()
    {
        var source = new Argument<string>("source") { Description = "File, folder, URL, NAME:path or - (stdin)" };
        var destination = new Argument<string>("destination") { Description = "File, folder (end it with /), NAME:path or - (stdout)" };
        var flags = new TransferFlags();
        var command = new Command("copy", "Copy a file or a folder tree, chunk by chunk, resumable") { source, destination };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, session =>
            RunAsync(session, parse.GetValue(source)!, parse.GetValue(destination)!, flags.Read(parse), "copy", ct, notify: (flags, parse),
                metadata: flags.ReadMetadata(parse))));
        return command;
    }

    public static Command Pull()
    {
        var source = new Argument<string?>("source") { Description = "File, URL or NAME:path to write to stdout", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file") { Description = "The source, as seed 000's scripts give it (instead of the argument)" };
        var flags = new TransferFlags();
        var command = new Command("pull", "Stream a file to stdout (through stages)") { source, file };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, session =>
            RunAsync(session, FlagAliases.Read(parse, source, file), "-", flags.Read(parse), "pull", ct)));
        return command;
    }

    public static Command Push()
    {
        var destination = new Argument<string?>("destination") { Description = "File or NAME:path to write stdin to", Arity = ArgumentArity.ZeroOrOne };
        var folder = new Option<string?>("--folder") { Description = "With --name, the destination as seed 000's scripts give it: --folder DIR --name FILE" };
        var name = new Option<string?>("--name") { Description = "The file name in --folder" };
        var flags = new TransferFlags();
        var command = new Command("push", "Store stdin as a file (through stages)") { destination, folder, name };
        flags.AddTo(command);
        command.SetAction((parse, ct) => Program.RunAsync(parse, session =>
            RunAsync(session, "-", FlagAliases.ReadDestination(parse, destination, folder, name), flags.Read(parse), "push", ct, metadata: flags.ReadMetadata(parse))));
        return command;
    }

    internal static async Task<int> RunAsync(CliSession session, string sourceText, string destinationText,
        JobSettings flags, string command, CancellationToken cancellationToken, JobSettings? job = null,
        (TransferFlags Flags, ParseResult Parse)? notify = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var options = session.Host.Options(flags, job, command);
        var source = await session.Host.Resolver.ResolveAsync(sourceText, cancellationToken).ConfigureAwait(false);
        var destination = await session.Host.Resolver.ResolveAsync(destinationText, cancellationToken).ConfigureAwait(false);
        if (metadata is { Count: > 0 })
        {
            if (destination.Storage is not YouTubeStorage)
                throw new LoadPipeException(ErrorKind.Usage, $"--meta and the video flags (--title, --description, --tags, --category, --privacy) are for a youtube destination, not {destination}");
            options.Metadata = new Dictionary<string, string>(metadata);
        }
        var manifest = await session.Host.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var engine = session.Host.CreateEngine(manifest);
        var reporter = new ProgressReporter(session.Quiet || session.Json);
        var reports = new FileReports(reporter);
        var summary = await reporter.RunAsync(() => engine.CopyAsync(source, destination, options, reports, cancellationToken)).ConfigureAwait(false);
        // Data went to stdout: the summary must not mix with it.
        var summaryOut = destinationText == "-" ? Console.Error : Console.Out;
        SummaryWriter.Write(summary, session.Json, session.Quiet, summaryOut, reports.Collected);
        if (notify is { } n && await manifest.GetSessionAsync(summary.Session, cancellationToken).ConfigureAwait(false) is { } record)
            await SessionCommands.NotifyIfAskedAsync(session, n.Flags, n.Parse, record, cancellationToken).ConfigureAwait(false);
        return SummaryWriter.ExitCode(summary.Status);
    }
}
