using System.CommandLine;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Sizes;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp list LOCATION [--recursive] [--json]` (or `--folder LOCATION`): one line per object, streamed as the store pages.</summary>
public static class ListCommand
{
    public static Command Create()
    {
        var location = new Argument<string?>("location") { Description = "Folder, URL or NAME:path", Arity = ArgumentArity.ZeroOrOne };
        var folder = new Option<string?>("--folder") { Description = "The location, as seed 000's scripts give it (instead of the argument)" };
        var recursive = new Option<bool>("--recursive", "-R") { Description = "Descend into sub-folders" };
        var command = new Command("list", "List objects: size, modified time, path") { location, folder, recursive };
        command.SetAction((parse, ct) => Program.RunAsync(parse, async session =>
        {
            var target = await session.Host.Resolver.ResolveAsync(FlagAliases.Read(parse, location, folder), ct).ConfigureAwait(false);
            var info = await target.Storage.StatAsync(target.Path, ct).ConfigureAwait(false)
                ?? throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.NotFound, $"{target}: no such file or folder");
            var entries = info.IsDirectory
                ? target.Storage.ListAsync(target.Path, parse.GetValue(recursive), ct)
                : One(info with { Path = target.Name });
            var count = 0;
            await foreach (var entry in entries.ConfigureAwait(false))
            {
                count++;
                if (session.Json)
                {
                    var line = new Dictionary<string, object?>
                    {
                        ["path"] = entry.Path,
                        ["size"] = entry.Size,
                        ["modified"] = entry.Modified?.ToString("O"),
                        ["is_dir"] = entry.IsDirectory,
                        ["version"] = entry.Version,
                        ["hashes"] = entry.Hashes,
                    };
                    // What else the store says of it, e.g. a Drive file's "id" or a video's "video_id".
                    foreach (var (name, value) in entry.Properties) line.TryAdd(name, value);
                    Console.Out.WriteLine(CliJson.Line(line));
                }
                else
                {
                    var size = entry.IsDirectory ? "-" : entry.Size.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    Console.Out.WriteLine($"{size,14} {entry.Modified?.ToString("yyyy-MM-dd HH:mm:ss") ?? "-",19} {entry.Path}{(entry.IsDirectory ? "/" : "")}");
                }
            }
            if (!session.Json && !session.Quiet) Console.Error.WriteLine($"{count} entries");
            return 0;
        }));
        return command;
    }

    private static async IAsyncEnumerable<Core.Storage.ObjectInfo> One(Core.Storage.ObjectInfo info)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return info;
    }
}
