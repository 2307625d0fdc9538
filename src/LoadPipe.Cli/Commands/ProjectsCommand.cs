using System.CommandLine;
using System.Globalization;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Sizes;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp projects`: each project sessions were labelled with (`--project`, config `project:`), with its
/// sessions, files, bytes and last run.</summary>
public static class ProjectsCommand
{
    public static Command Create()
    {
        var command = new Command("projects", "The projects of the recorded sessions: sessions, files, bytes, last run");
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var manifest = await session.Host.ManifestAsync(ct).ConfigureAwait(false);
            var count = 0;
            await foreach (var p in manifest.ListProjectsAsync(ct).ConfigureAwait(false))
            {
                count++;
                if (session.Json)
                    Console.Out.WriteLine(CliJson.Line(new Dictionary<string, object?>
                    {
                        ["project"] = p.Name, ["sessions"] = p.Sessions, ["files"] = p.Files, ["bytes"] = p.Bytes, ["last_run"] = p.LastRun.ToString("O"),
                    }));
                else
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{p.Name,-20} {p.Sessions,6} sessions {p.Files,8} files {ByteSize.Format(p.Bytes),10}  last run {p.LastRun:yyyy-MM-dd HH:mm:ss}"));
            }
            if (count == 0 && !session.Json && !session.Quiet) Console.Error.WriteLine("no projects yet (label a run with --project NAME)");
            return 0;
        }));
        return command;
    }
}
