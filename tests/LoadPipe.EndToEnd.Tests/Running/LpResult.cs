using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>How one lp run ended: exit code and everything it printed.</summary>
public sealed partial record LpResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> StdoutLines => Lines(Stdout);

    public IReadOnlyList<string> StderrLines => Lines(Stderr);

    /// <summary>The --json summary: the last line on stdout.</summary>
    public RunSummary Summary
    {
        get
        {
            var last = StdoutLines.LastOrDefault() ?? throw new InvalidOperationException($"{this}\nprinted nothing on stdout");
            return RunSummary.Parse(last);
        }
    }

    /// <summary>Every stdout line parsed as JSON (`lp status --json`, `lp sync --json`).</summary>
    public IReadOnlyList<JsonElement> JsonLines => StdoutLines.Select(line =>
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.Clone();
    }).ToList();

    /// <summary>Fails with the whole output when the exit code is not <paramref name="expected"/>.</summary>
    public LpResult AssertExitCode(int expected)
    {
        Assert.True(ExitCode == expected, $"expected exit code {expected}, got {ExitCode}\n{this}");
        return this;
    }

    /// <summary>The error contract: exactly one line on stderr starting with "error: ", and no stack trace.</summary>
    public string AssertOneErrorLine()
    {
        var errors = StderrLines.Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, $"expected one 'error: ' line on stderr, got {errors.Count}\n{this}");
        AssertNoStackTrace();
        return errors[0];
    }

    public void AssertNoStackTrace() =>
        Assert.False(StackFrame().IsMatch(Stderr) || Stderr.Contains("--- End of", StringComparison.Ordinal),
            $"stderr holds a stack trace\n{this}");

    public override string ToString() =>
        $"$ {CommandLine}\nexit code {ExitCode}\n--- stdout ---\n{Truncate(Stdout)}\n--- stderr ---\n{Truncate(Stderr)}";

    private static string Truncate(string text) => text.Length <= 4000 ? text : text[..4000] + "\n...";

    private static List<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}

/// <summary>The one JSON object `lp copy --json` ends with. <see cref="Session"/> is 0 when the run failed before it began
/// one; <see cref="Error"/> is null when it completed.</summary>
public sealed record RunSummary(string Status, int Files, int FilesSkipped, int FilesFailed, long Bytes, long BytesSent,
    long BytesResumed, double DurationSeconds, long Session, IReadOnlyList<string> Errors, string? Error = null)
{
    public static RunSummary Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var o = doc.RootElement;
        return new RunSummary(
            o.GetProperty("status").GetString()!,
            o.GetProperty("files").GetInt32(),
            o.GetProperty("files_skipped").GetInt32(),
            o.GetProperty("files_failed").GetInt32(),
            o.GetProperty("bytes").GetInt64(),
            o.GetProperty("bytes_sent").GetInt64(),
            o.GetProperty("bytes_resumed").GetInt64(),
            o.GetProperty("duration_s").GetDouble(),
            o.GetProperty("session").ValueKind == JsonValueKind.Null ? 0 : o.GetProperty("session").GetInt64(),
            o.TryGetProperty("errors", out var errors)
                ? errors.EnumerateArray().Select(e => e.GetProperty("error").GetString() ?? "").ToList()
                : [],
            o.TryGetProperty("error", out var error) ? error.GetString() : null);
    }
}
