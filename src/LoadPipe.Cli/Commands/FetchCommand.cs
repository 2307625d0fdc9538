using System.CommandLine;
using System.Globalization;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Sizes;
using LoadPipe.Fetch.Downloads;
using LoadPipe.Fetch.Input;
using LoadPipe.Fetch.Pipeline;
using LoadPipe.Fetch.Processing;
using LoadPipe.Storage.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Cli.Commands;

/// <summary>`lp fetch --files LIST`: seed 002's download pipeline (LoadPipe.Fetch; docs/fetch.md). Parsing and output
/// only: flags into <see cref="FetchOptions"/> and specs (<see cref="FetchSpecs"/>), the summary and exit code.</summary>
public static class FetchCommand
{
    private static readonly Option<string> Files = new("--files") { Description = "The list: a JSON array of {id, name, url}, JSON lines, or one URL a line; - for stdin", Required = true };
    private static readonly Option<string[]> Processor = new("--processor") { Description = "Repeatable: md5, sha1, sha256, content-type, counts, archive, plugin:COMMAND (default sha256)" };
    private static readonly Option<string[]> PostProcessor = new("--post-processor") { Description = "Repeatable: jsonl:FILE (- for stdout), csv:FILE, http:URL" };
    private static readonly Option<int?> Downloads = new("--downloads") { Description = $"Downloads at once (default {FetchDefaults.Downloads})", CustomParser = NumberArguments.OptionalWhole<int> };
    private static readonly Option<int?> PerHost = new("--per-host") { Description = $"Downloads at once from one host (default {FetchDefaults.PerHost})", CustomParser = NumberArguments.OptionalWhole<int> };
    private static readonly Option<int?> DownloadQueue = new("--download-queue-size") { Description = $"Entries read ahead of the downloads (default {FetchDefaults.DownloadQueueSize})", CustomParser = NumberArguments.OptionalWhole<int> };
    private static readonly Option<int?> Processors = new("--processors") { Description = "Processing workers, and plugin copies (default: the cores)", CustomParser = NumberArguments.OptionalWhole<int> };
    private static readonly Option<int?> Retries = new("--retries") { Description = $"Retries of each transient download fault (default {FetchDefaults.Retries})", CustomParser = NumberArguments.OptionalWhole<int> };
    private static readonly Option<string[]> Process = new("--process", "-p") { Description = "A stage applied before processing, repeatable, in order: unzstd, gunzip, grep:REGEX, zstd..." };
    private static readonly Option<string?> Save = new("--save") { Description = "Keep each processed file in this folder (default: deleted)" };
    private static readonly Option<string?> CacheDir = new("--cache-dir") { Description = "Where downloads wait for processing (default: a temporary folder)" };
    private static readonly Option<string?> CacheLimit = new("--cache-limit") { Description = "Most bytes waiting downloads may take (default 1G)" };
    private static readonly Option<bool> Force = new("--force") { Description = "Fetch again the entries an earlier run did" };
    private static readonly Option<bool> Strict = new("--strict") { Description = "Stop at the first bad entry of the list instead of failing it alone" };
    private static readonly Option<string?> PluginTimeout = new("--plugin-timeout") { Description = "Longest a plugin may take on one file, in seconds (default 60)" };
    private static readonly Option<bool> Simulate = new("--simulate-downloads") { Description = "No network: seeded fake downloads through the real pipeline" };
    private static readonly Option<int?> SimulateSeed = new("--simulate-seed") { Description = "The simulation's seed (default 0)", CustomParser = NumberArguments.OptionalWhole<int> };
    private static readonly Option<string?> SimulateSize = new("--simulate-size") { Description = $"Simulated sizes: 64K, or a range 1K-1M (default {SimulatedDownloader.DefaultSize})" };
    private static readonly Option<string?> SimulateLatency = new("--simulate-latency") { Description = $"Simulated latencies: 20ms, or a range (default {SimulatedDownloader.DefaultLatency})" };
    private static readonly Option<string?> Project = new("--project") { Description = "Label the run's session with a project name" };

    public static Command Create()
    {
        var command = new Command("fetch", "Download a list of URLs through processors and post-processors");
        foreach (var o in new Option[] { Files, Processor, PostProcessor, Downloads, PerHost, DownloadQueue, Processors, Retries, Process, Save, CacheDir, CacheLimit,
                     Force, Strict, PluginTimeout, Simulate, SimulateSeed, SimulateSize, SimulateLatency, Project })
            command.Options.Add(o);
        command.SetAction((parse, ct) => Program.RunAsync(parse, session => RunAsync(session, parse, ct)));
        return command;
    }

    private static async Task<int> RunAsync(CliSession session, ParseResult parse, CancellationToken stop)
    {
        var logger = session.Host.Loggers.CreateLogger("LoadPipe.Fetch");
        var options = new FetchOptions
        {
            Downloads = Positive(parse.GetValue(Downloads) ?? FetchDefaults.Downloads, "--downloads"),
            PerHost = Positive(parse.GetValue(PerHost) ?? FetchDefaults.PerHost, "--per-host"),
            DownloadQueueSize = Positive(parse.GetValue(DownloadQueue) ?? FetchDefaults.DownloadQueueSize, "--download-queue-size"),
            Processors = Positive(parse.GetValue(Processors) ?? Environment.ProcessorCount, "--processors"),
            Stages = session.Host.Stages.ParseAll(parse.GetValue(Process) ?? []),
            SaveDirectory = parse.GetValue(Save),
            CacheDirectory = parse.GetValue(CacheDir),
            CacheLimit = parse.GetValue(CacheLimit) is { } limit ? ByteSize.Parse(limit, "--cache-limit") : FetchDefaults.CacheLimit,
            Force = parse.GetValue(Force),
            Strict = parse.GetValue(Strict),
        };
        var retries = parse.GetValue(Retries) ?? FetchDefaults.Retries;
        if (retries < 0) throw new LoadPipeException(ErrorKind.Usage, $"--retries {retries}: expected 0 or more");
        var timeout = parse.GetValue(PluginTimeout) is { } t
            ? double.TryParse(t.TrimEnd('s'), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : throw new LoadPipeException(ErrorKind.Usage, $"--plugin-timeout '{t}': expected a number of seconds")
            : TimeSpan.FromSeconds(60);
        var simulate = parse.GetValue(Simulate);
        var run = await FetchRun.CreateAsync(new FetchRunSettings
        {
            Options = options,
            Processors = parse.GetValue(Processor) ?? [],
            PostProcessors = parse.GetValue(PostProcessor) ?? [],
            Retries = retries,
            PluginTimeout = timeout,
            Simulation = simulate
                ? new FetchSimulation(parse.GetValue(SimulateSeed) ?? 0, parse.GetValue(SimulateSize) ?? SimulatedDownloader.DefaultSize,
                    parse.GetValue(SimulateLatency) ?? SimulatedDownloader.DefaultLatency)
                : null,
        }, session.Host.Time, logger).ConfigureAwait(false);
        await using (run.ConfigureAwait(false))
        {
            var listName = parse.GetValue(Files)!;
            Stream list;
            if (listName == "-") list = Console.OpenStandardInput();
            else
            {
                try
                {
                    list = new FileStream(listName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    throw new LoadPipeException(ErrorKind.Usage, $"--files {listName}: no such file");
                }
            }
            var manifest = await session.Host.ManifestAsync(stop).ConfigureAwait(false);
            FetchSummary summary;
            await using (list.ConfigureAwait(false))
            {
                var shown = listName == "-" ? "stdin" : listName;
                var source = listName == "-" ? "-" : Location.LocalKey(Path.GetFullPath(listName));
                summary = await run.RunAsync(FetchListReader.ReadAsync(list, shown), new SessionStart("fetch", source, options.Destination, parse.GetValue(Project)), manifest, stop)
                    .ConfigureAwait(false);
            }
            Write(summary, session.Json, session.Quiet, run.WritesToStdout ? Console.Error : Console.Out);
            return summary.Status == SessionStatus.Interrupted ? SummaryWriter.Interrupted : SummaryWriter.ExitCode(summary.Status);
        }
    }

    private static int Positive(int value, string flag) =>
        value >= 1 ? value : throw new LoadPipeException(ErrorKind.Usage, $"{flag} {value}: expected 1 or more");

    /// <summary>One JSON line (--json, the fields of `lp copy --json` and the fetch's own), else one line on stderr.</summary>
    private static void Write(FetchSummary s, bool json, bool quiet, TextWriter output)
    {
        var failed = s.Failed;
        if (json)
        {
            output.WriteLine(CliJson.Line(new Dictionary<string, object?>
            {
                ["status"] = s.Status.Name(),
                ["error"] = s.Failures.Count > 0 ? s.Failures[0].Error : null,
                ["files"] = s.Entries,
                ["files_done"] = s.Done,
                ["files_skipped"] = s.Skipped,
                ["files_failed"] = failed,
                ["failed_input"] = s.FailedInput,
                ["failed_download"] = s.FailedDownload,
                ["failed_process"] = s.FailedProcess,
                ["failed_post"] = s.FailedPost,
                ["bytes"] = s.Bytes,
                ["bytes_sent"] = s.Bytes,
                ["bytes_resumed"] = 0L,
                ["duration_s"] = Math.Round(s.DurationSeconds, 3),
                ["files_per_s"] = Math.Round(s.FilesPerSecond, 1),
                ["session"] = s.Session,
                ["errors"] = s.Failures.Select(f => new Dictionary<string, string?> { ["source"] = f.Url, ["stage"] = f.FailedStage?.ToString().ToLowerInvariant(), ["error"] = f.Error }).ToList(),
            }));
            output.Flush();
            return;
        }
        if (quiet && s.Status == SessionStatus.Completed) return;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Status.Name()}: {s.Entries} files ({s.Done} done, {s.Skipped} skipped, {failed} failed: {s.FailedInput} input, {s.FailedDownload} download, {s.FailedProcess} processing), {ByteSize.Format(s.Bytes)}, {s.DurationSeconds:0.0}s, {s.FilesPerSecond:0.0} files/s, session {s.Session}"));
    }
}
