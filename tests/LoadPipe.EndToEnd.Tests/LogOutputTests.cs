using System.Text.Json;
using System.Text.RegularExpressions;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>Log lines on stderr: text by default, one JSON object per line with --log-format json.</summary>
public sealed partial class LogOutputTests
{
    [Fact]
    public async Task Copy_DebugText_OneLinePerEventWithTimeLevelCategoryAndId()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/a.bin");
        Digest.WriteRandomFile(source, 100_000, seed: 90);

        var result = await sandbox.LpAsync("copy", source, sandbox.PathOf("out/a.bin"), "--debug");

        result.AssertExitCode(0);
        var committed = result.StderrLines.Where(line => line.Contains("Committed", StringComparison.Ordinal)).ToList();
        Assert.True(committed.Count == 1, $"expected one 'Committed' line\n{result}");
        Assert.Matches(TextLine(), committed[0]);
        Assert.Contains("a.bin: 100000 bytes, 100000 sent", committed[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_DebugJson_EveryLogLineIsOneJsonObject()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/a.bin");
        Digest.WriteRandomFile(source, 100_000, seed: 91);

        var result = await sandbox.LpAsync("copy", source, sandbox.PathOf("out/a.bin"), "--debug", "--log-format", "json", "--json");

        result.AssertExitCode(0);
        var logs = result.StderrLines.Where(line => line.StartsWith('{')).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var committed = logs.Where(e => e.TryGetProperty("event_id", out var id) && id.GetInt32() == 103).ToList();
        Assert.True(committed.Count == 1, $"expected one event 103 (committed)\n{result}");
        Assert.Equal("information", committed[0].GetProperty("level").GetString());
        Assert.StartsWith("LoadPipe", committed[0].GetProperty("category").GetString(), StringComparison.Ordinal);
        Assert.Contains("a.bin: 100000 bytes, 100000 sent", committed[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(committed[0].GetProperty("time").TryGetDateTimeOffset(out _), $"no time\n{result}");
        Assert.Equal("completed", result.Summary.Status);
    }

    [GeneratedRegex(@"^\d\d:\d\d:\d\d info: LoadPipe[\w.]*\[103\] Committed ")]
    private static partial Regex TextLine();
}
