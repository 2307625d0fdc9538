using System.Globalization;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Cli.Output;

/// <summary>The end of a run: one JSON object (--json) or one human line, and the exit code it means.</summary>
public static class SummaryWriter
{
    public const int Done = 0, Failed = 1, Usage = 2, Partial = 3, Interrupted = 130;

    public static int ExitCode(SessionStatus status) => status switch
    {
        SessionStatus.Completed => Done,
        SessionStatus.Partial => Partial,
        _ => Failed,
    };

    /// <summary>One line for a failed file that names each path once: the error's own text when it names the source
    /// already (an adapter's message starts with its location), else the source and the error.</summary>
    public static string Describe(FileResult failed) =>
        failed.Error is { } error && error.Contains(failed.Source, StringComparison.Ordinal) ? error : $"{failed.Source}: {failed.Error}";

    /// <summary>
    /// The --json line of a run that ended without its summary: it could not start (source not found, unknown remote,
    /// the manifest's disk full...) or was interrupted. <paramref name="soFar"/> is what the run had done, when it began.
    /// </summary>
    public static void WriteEnded(SessionStatus status, string error, TextWriter output, TransferSummary? soFar, double durationSeconds)
    {
        var s = soFar ?? new TransferSummary { Status = status, DurationSeconds = durationSeconds };
        output.WriteLine(CliJson.Line(JsonFields(s with { Status = status }, error, session: soFar?.Session)));
        output.Flush();
    }

    /// <param name="reports">Files that came back with reports (a video's id and URL): listed under "reports" in --json.</param>
    public static void Write(TransferSummary s, bool json, bool quiet, TextWriter stdout, IReadOnlyList<FileResult>? reports = null)
    {
        if (json)
        {
            var error = s.Status == SessionStatus.Completed ? null : s.Failures.Count > 0 ? Describe(s.Failures[0]) : s.StopReason;
            var obj = JsonFields(s, error, s.Session);
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
        if (quiet && s.Status == SessionStatus.Completed) return;
        var speed = s.DurationSeconds > 0 ? ByteSize.Format((long)(s.BytesSent / s.DurationSeconds)) + "/s" : "";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Status.Name()}: {s.Files} files ({s.FilesSkipped} skipped, {s.FilesFailed} failed), {ByteSize.Format(s.Bytes)}, {ByteSize.Format(s.BytesSent)} sent, {ByteSize.Format(s.BytesResumed)} resumed, {s.DurationSeconds:0.0}s {speed}, session {s.Session}"));
    }

    /// <summary>The fields every --json summary has (docs/cli.md): the same names whether the run ended or not.</summary>
    private static Dictionary<string, object?> JsonFields(TransferSummary s, string? error, long? session) => new()
    {
        ["status"] = s.Status.Name(),
        ["error"] = error,
        ["files"] = s.Files,
        ["files_skipped"] = s.FilesSkipped,
        ["files_failed"] = s.FilesFailed,
        ["bytes"] = s.Bytes,
        ["bytes_sent"] = s.BytesSent,
        ["bytes_resumed"] = s.BytesResumed,
        ["duration_s"] = Math.Round(s.DurationSeconds, 3),
        ["session"] = session,
        ["errors"] = s.Failures.Select(f => new Dictionary<string, string?> { ["source"] = f.Source, ["error"] = f.Error }).ToList(),
    };
}
