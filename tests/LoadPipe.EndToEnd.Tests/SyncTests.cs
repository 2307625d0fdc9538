using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>`lp sync --config FILE` runs the config's jobs; `lp status` shows what they did.</summary>
public sealed class SyncTests
{
    [Fact]
    public async Task Sync_TwoJobs_CopiesFilteredFolderAndStagedFileAndStatusShowsBothSessions()
    {
        using var sandbox = new Sandbox();
        var logFolder = Path.Combine(sandbox.Root, "in/logs");
        var logs = sandbox.PathOf("in/logs/app.log");
        var nestedLog = sandbox.PathOf("in/logs/2025/03/worker.log");
        var other = sandbox.PathOf("in/logs/notes.txt");
        var nestedOther = sandbox.PathOf("in/logs/2025/03/core.bin");
        var contents = new Dictionary<string, byte[]>
        {
            [logs] = Digest.WriteRandomFile(logs, 300_000, seed: 40),
            [nestedLog] = Digest.WriteRandomFile(nestedLog, 2 << 20, seed: 41),
            [other] = Digest.WriteRandomFile(other, 1000, seed: 42),
            [nestedOther] = Digest.WriteRandomFile(nestedOther, 1000, seed: 43),
        };
        var events = JsonLines.Write(sandbox.PathOf("in/events.jsonl"), 6 << 20, seed: 44);
        var mirror = Path.Combine(sandbox.Root, "mirror/logs");
        var packed = sandbox.PathOf("packed/events.jsonl.zst");
        var config = sandbox.PathOf("lp.yaml");
        File.WriteAllText(config, $"""
            defaults:
              chunk_size: 1M
            jobs:
              - name: logs
                source: {logFolder}/
                destination: {mirror}/
                include: "*.log"
              - name: events
                source: {events.Path}
                destination: {packed}
                process: [zstd]
            """);

        var sync = await sandbox.LpAsync("sync", "--config", config, "--json");

        sync.AssertExitCode(0);
        var summaries = sync.StdoutLines.Select(RunSummary.Parse).ToList();
        Assert.Equal(2, summaries.Count);
        Assert.All(summaries, s => Assert.Equal("completed", s.Status));
        Assert.Equal(2, summaries[0].Files);
        Assert.Equal(1, summaries[1].Files);
        var mirrored = Directory.GetFiles(mirror, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(mirror, f)).Order().ToList();
        Assert.Equal(["2025/03/worker.log", "app.log"], mirrored);
        Assert.Equal(Digest.Sha256(contents[logs]), Digest.Sha256OfFile(Path.Combine(mirror, "app.log")));
        Assert.Equal(Digest.Sha256(contents[nestedLog]), Digest.Sha256OfFile(Path.Combine(mirror, "2025/03/worker.log")));
        var (sha256, length) = Digest.Sha256OfZstdFile(packed);
        Assert.Equal(events.Length, length);
        Assert.Equal(events.Sha256, sha256);

        var sessions = await ManifestProbe.SessionsAsync(sandbox);
        Assert.Equal(2, sessions.Count);
        Assert.All(sessions, s => Assert.Equal("sync", s.GetProperty("command").GetString()));
        Assert.All(sessions, s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        // Newest first: the events job ran last.
        Assert.Equal(summaries[1].Session, sessions[0].GetProperty("session").GetInt64());
        Assert.Equal(summaries[0].Session, sessions[1].GetProperty("session").GetInt64());
        Assert.Equal(packed, sessions[0].GetProperty("destination").GetString());
        Assert.Equal(2, sessions[1].GetProperty("files").GetInt32());

        var transfers = await ManifestProbe.TransfersAsync(sandbox, summaries[0].Session);
        Assert.Equal(2, transfers.Count);
        Assert.All(transfers, t => Assert.Equal("completed", t.GetProperty("status").GetString()));
        Assert.All(transfers, t => Assert.EndsWith(".log", t.GetProperty("destination").GetString()));
        var staged = Assert.Single(await ManifestProbe.TransfersAsync(sandbox, summaries[1].Session));
        Assert.Equal("zstd", staged.GetProperty("pipeline").GetString());
        Assert.Equal(events.Length, staged.GetProperty("source_size").GetInt64());

        var again = await sandbox.LpAsync("sync", "--config", config, "--json");

        again.AssertExitCode(0);
        Assert.All(again.StdoutLines.Select(RunSummary.Parse), s =>
        {
            Assert.Equal(s.Files, s.FilesSkipped);
            Assert.Equal(0, s.BytesSent);
        });
    }
}
