using System.Globalization;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Cli.Output;

/// <summary>The end of a run: one JSON object (--json) or one human line, and the exit code it means.</summary>
public static class SummaryWriter
{
    public const int Done = 0, Failed = 1, Usage = 2, Partial = 3, Interrupted = 130;

    public static int ExitCode(string status) => status switch
    {
        "completed" => Done,
        "partial" => Partial,
        _ => Failed,
    };

    /// <param name="reports">Files that came back with reports (a video's id and URL): listed under "reports" in --json.</param>
    public static void Write(TransferSummary s, bool json, bool quiet, TextWriter stdout, IReadOnlyList<FileResult>? reports = null)
    {
        if (json)
        {
            var obj = new Dictionary<string, object?>
            {
                ["status"] = s.Status,
                ["files"] = s.Files,
                ["files_skipped"] = s.FilesSkipped,
                ["files_failed"] = s.FilesFailed,
                ["bytes"] = s.Bytes,
                ["bytes_sent"] = s.BytesSent,
                ["bytes_resumed"] = s.BytesResumed,
                ["duration_s"] = Math.Round(s.DurationSeconds, 3),
                ["session"] = s.Session,
                ["errors"] = s.Failures.Select(f => new Dictionary<string, string?> { ["source"] = f.Source, ["error"] = f.Error }).ToList(),
            };
            if (s.StopReason is { } stopped) obj["stopped"] = stopped;
            if (reports is { Count: > 0 })
            {
                obj["reports"] = reports.Select(r => new Dictionary<string, string?>
                {
                    ["source"] = r.Source,
                    ["destination"] = r.Destination,
                    ["outcome"] = r.Outcome.ToString().ToLowerInvariant(),
                }.Concat(r.Reports.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value)).ToList();
            }
            stdout.WriteLine(CliJson.Line(obj));
            stdout.Flush();
            return;
        }
        if (s.StopReason is { } reason) Console.Error.WriteLine("stopped: " + reason + " (the files not started are recorded as failed: lp retry, or run the same command again, after the reset)");
        if (quiet && s.Status == "completed") return;
        var speed = s.DurationSeconds > 0 ? ByteSize.Format((long)(s.BytesSent / s.DurationSeconds)) + "/s" : "";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Status}: {s.Files} files ({s.FilesSkipped} skipped, {s.FilesFailed} failed), {ByteSize.Format(s.Bytes)}, {ByteSize.Format(s.BytesSent)} sent, {ByteSize.Format(s.BytesResumed)} resumed, {s.DurationSeconds:0.0}s {speed}, session {s.Session}"));
    }
}
