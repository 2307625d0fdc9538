using System.Globalization;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Testing.Google;
using LoadPipe.Testing.Google.Faults;

namespace LoadPipe.EndToEnd.Tests.Google;

/// <summary>
/// lp as a real process against a gdrive remote on the Google protocol server: kill -9 in the middle of a resumable
/// upload and in the middle of a download, and seed 000's cycle (a Drive folder -> unzstd, grep, zstd -> another
/// Drive folder) from a config file, run again and after a source changed.
/// </summary>
public sealed class DriveTests
{
    private const int Chunk = 1 << 20;

    [Fact]
    public async Task Copy_KilledMidUpload_ResumesTheSavedSessionSendingOnlyTheMissingBytes()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        DriveRemote.Configure(sandbox, google);
        const int size = 40 << 20;
        var source = sandbox.PathOf("in/big.bin");
        var bytes = Digest.WriteRandomFile(source, size, seed: 300);
        var destination = $"{DriveRemote.Name}:backup/2026/";

        await using (var lp = sandbox.StartLp("copy", source, destination, "--chunk-size", "1M", "--bwlimit", "8M", "--json"))
            await DriveRemote.KillOnceUploadedAsync(lp, google, "big.bin", 6L * Chunk);
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        Assert.True(confirmed >= 4L * Chunk, $"only {confirmed} bytes confirmed once the server held 6 MiB");
        Assert.Null(google.FindByPath("backup/2026/big.bin")); // nothing visible before the upload completes
        google.Requests.Clear();

        var run = await sandbox.LpAsync("copy", source, destination, "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        Assert.Equal("completed", run.Summary.Status);
        Assert.Equal(confirmed, run.Summary.BytesResumed);
        // The same session (no new one started), continued where the server stood: at least the confirmed bytes.
        Assert.Empty(google.Requests.OfKind(RequestKind.DriveUploadStart));
        var chunks = google.Requests.OfKind(RequestKind.UploadChunk);
        var resumedAt = long.Parse(chunks[0].ContentRange!.Split(' ', '-')[1], CultureInfo.InvariantCulture);
        Assert.True(resumedAt >= confirmed, $"the resumed upload started at {resumedAt}, before the {confirmed} confirmed bytes");
        Assert.Equal(size - resumedAt, chunks.Sum(r => r.BytesReceived));
        Assert.Single(google.UploadSessions, s => s.Name == "big.bin");
        var file = google.FindByPath("backup/2026/big.bin")!;
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256(google.GetContent(file.Id)));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes)), file.Md5Checksum);
    }

    [Fact]
    public async Task Cleanup_AfterKillMidUpload_CancelsTheSessionAndNextCopyStartsFromZero()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        DriveRemote.Configure(sandbox, google);
        const int size = 20 << 20;
        var source = sandbox.PathOf("in/old.bin");
        var bytes = Digest.WriteRandomFile(source, size, seed: 302);
        await using (var lp = sandbox.StartLp("copy", source, $"{DriveRemote.Name}:stale/", "--chunk-size", "1M", "--bwlimit", "8M", "--json"))
            await DriveRemote.KillOnceUploadedAsync(lp, google, "old.bin", 3L * Chunk);
        Assert.Single(google.UploadSessions, s => s.Name == "old.bin");

        var cleanup = await sandbox.LpAsync("cleanup", "--older-than", "0s");

        cleanup.AssertExitCode(0);
        Assert.DoesNotContain(google.UploadSessions, s => s.Name == "old.bin");
        Assert.Contains(google.Requests.All, r => r.Method == "DELETE" && r.Status == 499);
        var run = await sandbox.LpAsync("copy", source, $"{DriveRemote.Name}:stale/", "--chunk-size", "1M", "--json");
        run.AssertExitCode(0);
        Assert.Equal(0, run.Summary.BytesResumed);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256(google.GetContent(google.FindByPath("stale/old.bin")!.Id)));
    }

    [Fact]
    public async Task Copy_KilledMidDownload_ResumesWithARangeRequest()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        DriveRemote.Configure(sandbox, google);
        const int size = 30 << 20;
        var bytes = new byte[size];
        new Random(301).NextBytes(bytes);
        google.PutFile(google.Drive.CreateFolders("media"), "talk.bin", bytes);
        var target = sandbox.PathOf("out/talk.bin");

        await using (var lp = sandbox.StartLp("copy", $"{DriveRemote.Name}:media/talk.bin", target, "--chunk-size", "1M", "--bwlimit", "8M", "--json"))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(Sandbox.PartialOf(target)) >= 5L * Chunk, TimeSpan.FromSeconds(60),
                () => $"{Poll.LengthOf(Sandbox.PartialOf(target))} bytes downloaded (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await lp.KillAsync();
        }
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        google.Requests.Clear();

        var run = await sandbox.LpAsync("copy", $"{DriveRemote.Name}:media/talk.bin", target, "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        Assert.Equal(confirmed, run.Summary.BytesResumed);
        Assert.True(confirmed > 0, $"nothing was confirmed before the kill\n{run}");
        var download = Assert.Single(google.Requests.OfKind(RequestKind.DriveDownload));
        Assert.Equal($"bytes={confirmed}-", download.Range);
        Assert.Equal(size - confirmed, run.Summary.BytesSent);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(target));
    }

    [Fact]
    public async Task Copy_GoogleDocumentKilledMidExport_ExportedAgainFromZeroThenSkipped()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        DriveRemote.Configure(sandbox, google);
        var bytes = new byte[9 << 20];   // under Drive's 10 MB export limit
        new Random(302).NextBytes(bytes);
        var folder = google.Drive.CreateFolders("docs");
        google.Drive.PutFile(folder, "Report", bytes, "application/vnd.google-apps.document");
        var target = sandbox.PathOf("out/Report.docx");
        string[] copy = ["copy", $"{DriveRemote.Name}:docs", sandbox.PathOf("out"), "--chunk-size", "1M", "--json"];

        await using (var lp = sandbox.StartLp([.. copy, "--bwlimit", "2M"]))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(Sandbox.PartialOf(target)) >= 3L * Chunk, TimeSpan.FromSeconds(60),
                () => $"{Poll.LengthOf(Sandbox.PartialOf(target))} bytes exported (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await lp.KillAsync();
        }
        Assert.True(await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox) > 0, "nothing was confirmed before the kill");

        var again = await sandbox.LpAsync(copy);
        var third = await sandbox.LpAsync(copy);

        // An export is made afresh on each request (a docx holds times), so the confirmed bytes are not trusted:
        // the whole file is exported again, with a warning, and not spliced.
        again.AssertExitCode(0);
        Assert.Equal(("completed", 0L, (long)bytes.Length), (again.Summary.Status, again.Summary.BytesResumed, again.Summary.BytesSent));
        Assert.Contains(again.StderrLines, l => l.Contains("cannot be resumed", StringComparison.Ordinal));
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(target));
        Assert.Equal(2, google.Requests.OfKind(RequestKind.DriveExport).Count);
        third.AssertExitCode(0);
        Assert.Equal((1, 0L), (third.Summary.FilesSkipped, third.Summary.BytesSent));
    }

    [Fact]
    public async Task Sync_DriveFolderThroughStagesToDriveFolder_ReRunSendsNothingAndANewRevisionIsRedone()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        var raw = google.Drive.CreateFolders("Projects/raw");
        var first = PutCompressedLines(sandbox, google, raw, "dump-1.jsonl.zst", 3 << 20, seed: 310);
        var second = PutCompressedLines(sandbox, google, raw, "dump-2.jsonl.zst", 2 << 20, seed: 311);
        google.PutFile(raw, "README.txt", "not a dump"u8.ToArray());
        var config = DriveRemote.Configure(sandbox, google, $"""
            defaults:
              chunk_size: 1M
            jobs:
              - name: clean
                source: {DriveRemote.Name}:Projects/raw/
                destination: {DriveRemote.Name}:Projects/clean/
                include: ["*.jsonl.zst"]
                process: [unzstd, 'grep:{JsonLines.ErrorPattern}', zstd]
            """);

        var sync = await sandbox.LpAsync("sync", "--config", config, "--json");
        var again = await sandbox.LpAsync("sync", "--config", config, "--json");
        // dump-1 gets a new revision (same name: lp uploads a new revision of the file, not a second file).
        var changed = PutCompressedLines(sandbox, google, null, "dump-1.jsonl.zst", 1 << 20, seed: 312);
        (await sandbox.LpAsync("copy", changed.Compressed, $"{DriveRemote.Name}:Projects/raw/dump-1.jsonl.zst", "--json")).AssertExitCode(0);
        var redo = await sandbox.LpAsync("sync", "--config", config, "--json");

        sync.AssertExitCode(0);
        Assert.Equal(2, RunSummary.Parse(sync.StdoutLines[^1]).Files);
        again.AssertExitCode(0);
        var rerun = RunSummary.Parse(again.StdoutLines[^1]);
        Assert.Equal(2, rerun.FilesSkipped);
        Assert.Equal(0, rerun.BytesSent);
        redo.AssertExitCode(0);
        Assert.Equal(1, RunSummary.Parse(redo.StdoutLines[^1]).FilesSkipped);
        Assert.Single(google.Drive.Children(raw), f => f.Name == "dump-1.jsonl.zst");
        AssertCleaned(sandbox, google, "Projects/clean/dump-1.jsonl.zst", changed.Lines);
        AssertCleaned(sandbox, google, "Projects/clean/dump-2.jsonl.zst", second.Lines);
        Assert.Null(google.FindByPath("Projects/clean/README.txt"));
        _ = first;
    }

    [Fact]
    public async Task List_DriveFolder_JsonLinesWithIdSizeMd5RevisionAndMissingPathIsOneErrorLine()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        DriveRemote.Configure(sandbox, google);
        var raw = google.Drive.CreateFolders("Projects/raw");
        var bytes = new byte[12345];
        new Random(320).NextBytes(bytes);
        var id = google.PutFile(raw, "dump.jsonl.zst", bytes);
        google.Drive.CreateFolders("Projects/raw/old");

        var list = (await sandbox.LpAsync("list", $"{DriveRemote.Name}:Projects/raw", "--json")).AssertExitCode(0);
        var missing = (await sandbox.LpAsync("copy", $"{DriveRemote.Name}:Projects/nowhere/x.bin", sandbox.PathOf("out/x.bin"))).AssertExitCode(1);

        var entries = list.JsonLines.ToDictionary(e => e.GetProperty("path").GetString()!);
        Assert.Equal(["dump.jsonl.zst", "old"], entries.Keys.Order());
        var dump = entries["dump.jsonl.zst"];
        Assert.Equal(bytes.Length, dump.GetProperty("size").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes)), dump.GetProperty("hashes").GetProperty("md5").GetString());
        Assert.Equal(google.Drive.Get(id)!.HeadRevisionId, dump.GetProperty("version").GetString());
        Assert.Equal(id, dump.GetProperty("id").GetString());
        Assert.True(entries["old"].GetProperty("is_dir").GetBoolean());
        Assert.False(string.IsNullOrEmpty(entries["old"].GetProperty("id").GetString()));
        Assert.Contains("mydrive:Projects/nowhere/x.bin", missing.AssertOneErrorLine(), StringComparison.Ordinal);
        missing.AssertNoStackTrace();
    }

    private sealed record CompressedLines(string Compressed, JsonLinesFile Lines);

    /// <summary>Seeded JSON lines, zstd-compressed into the sandbox and, when <paramref name="folderId"/> is given, put on the server.</summary>
    private static CompressedLines PutCompressedLines(Sandbox sandbox, GoogleProtocolServer google, string? folderId, string name, long length, int seed)
    {
        var lines = JsonLines.Write(sandbox.PathOf($"gen/{seed}.jsonl"), length, seed);
        var compressed = sandbox.PathOf($"gen/{seed}/{name}");
        Digest.CompressZstd(lines.Path, compressed);
        if (folderId is not null)
        {
            using var content = File.OpenRead(compressed);
            google.PutFile(folderId, name, content);
        }
        return new CompressedLines(compressed, lines);
    }

    private static void AssertCleaned(Sandbox sandbox, GoogleProtocolServer google, string path, JsonLinesFile expected)
    {
        var file = google.FindByPath(path) ?? throw new Xunit.Sdk.XunitException($"{path} is not on the server");
        var local = sandbox.PathOf($"check/{Guid.NewGuid():N}.zst");
        File.WriteAllBytes(local, google.GetContent(file.Id));
        var (sha256, length) = Digest.Sha256OfZstdFile(local);
        Assert.Equal(expected.ErrorLinesLength, length);
        Assert.Equal(expected.ErrorLinesSha256, sha256);
    }
}
