using System.CommandLine;
using System.Globalization;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Sizes;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp status [SESSION]`: recent sessions, or one session's transfers with their confirmed offsets;
/// `lp status SESSION --config`: the config it ran with.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var sessionId = new Argument<long?>("session") { Description = "Show this session's transfers", Arity = ArgumentArity.ZeroOrOne, CustomParser = NumberArguments.OptionalWhole<long> };
        var limit = new Option<int>("--limit") { Description = "How many sessions to show", DefaultValueFactory = _ => 20, CustomParser = NumberArguments.Whole<int> };
        var config = new Option<bool>("--config") { Description = "Print the config the session ran with (secrets masked when it was recorded)" };
        var command = new Command("status", "What the manifest knows: sessions, transfers, offsets") { sessionId, limit, config };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var manifest = await session.Host.ManifestAsync(ct).ConfigureAwait(false);
            var id = parse.GetValue(sessionId);
            if (parse.GetValue(config) && id is null)
                throw new LoadPipeException(ErrorKind.Usage, "--config shows one session's config: lp status SESSION --config");
            if (id is null)
            {
                await foreach (var listed in manifest.ListSessionsAsync(parse.GetValue(limit), ct).ConfigureAwait(false))
                {
                    var s = await manifest.WithLivenessAsync(listed, ct).ConfigureAwait(false);
                    if (session.Json)
                        Console.Out.WriteLine(CliJson.Line(new Dictionary<string, object?>
                        {
                            ["session"] = s.Id, ["command"] = s.Command, ["source"] = Location.Display(s.Source), ["destination"] = Location.Display(s.Destination),
                            ["project"] = s.Project, ["status"] = s.Status.Name(), ["started"] = s.StartedAt.ToString("O"), ["finished"] = s.FinishedAt?.ToString("O"),
                            ["files"] = s.Files, ["files_skipped"] = s.FilesSkipped, ["files_failed"] = s.FilesFailed, ["bytes"] = s.Bytes, ["bytes_sent"] = s.BytesSent,
                        }));
                    else
                        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{s.Id,6} {s.StartedAt:yyyy-MM-dd HH:mm:ss} {s.Status.Name(),-11} {s.Command,-5} {s.Files,6} files {s.FilesFailed,4} failed {ByteSize.Format(s.BytesSent),10} sent  {Location.Display(s.Source)} -> {Location.Display(s.Destination)}"));
                }
                return 0;
            }
            if (await manifest.GetSessionAsync(id.Value, ct).ConfigureAwait(false) is null)
                throw new LoadPipeException(ErrorKind.Usage, $"session {id} does not exist (lp status lists the sessions)");
            if (parse.GetValue(config))
                return await PrintConfigAsync(manifest, id.Value, session.Json, ct).ConfigureAwait(false);
            await foreach (var t in manifest.ListTransfersAsync(id, ct).ConfigureAwait(false))
            {
                if (session.Json)
                    Console.Out.WriteLine(CliJson.Line(new Dictionary<string, object?>
                    {
                        ["id"] = t.Id, ["source"] = Location.Display(t.Key.Source), ["destination"] = Location.Display(t.Key.Destination), ["pipeline"] = t.Key.Pipeline,
                        ["status"] = t.Status.ToString().ToLowerInvariant(), ["bytes_confirmed"] = t.BytesConfirmed, ["source_size"] = t.Source.Size,
                        ["attempts"] = t.Attempts, ["last_error"] = t.LastError, ["md5"] = t.Md5, ["sha256"] = t.Sha256,
                    }));
                else
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{t.Status,-10} {ByteSize.Format(t.BytesConfirmed),10} / {ByteSize.Format(t.Source.Size),-10} {Location.Display(t.Key.Source)} -> {Location.Display(t.Key.Destination)}{(t.LastError is null ? "" : "  (" + t.LastError + ")")}"));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The snapshot as recorded: <c>ConfigReader.Redact</c> masked its secrets before it reached the manifest.
    /// A session run without a config file prints nothing on stdout and says so on stderr.</summary>
    private static async Task<int> PrintConfigAsync(IManifest manifest, long id, bool json, CancellationToken cancellationToken)
    {
        var snapshot = await manifest.GetConfigSnapshotAsync(id, cancellationToken).ConfigureAwait(false);
        if (json)
            Console.Out.WriteLine(CliJson.Line(new Dictionary<string, object?> { ["session"] = id, ["config"] = snapshot }));
        else if (snapshot is null)
            Console.Error.WriteLine($"session {id} ran without a config file");
        else
            Console.Out.Write(snapshot.EndsWith('\n') ? snapshot : snapshot + "\n");
        return 0;
    }
}
