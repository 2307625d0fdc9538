using System.Text;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Transfers;
using LoadPipe.Google.Tests.Drive.Support;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Testing.Google.Faults;
using Microsoft.Extensions.Logging;
using static LoadPipe.Google.Tests.Drive.Support.DriveServer;

namespace LoadPipe.Google.Tests.Drive;

/// <summary>Whole transfers through the real engine (its retries included) and a SQLite manifest, against the protocol server.</summary>
public sealed class DriveTransferTests(DriveServer server) : IClassFixture<DriveServer>, IDisposable
{
    private const int Chunk = MiB;
    private readonly string _top = "t" + Guid.NewGuid().ToString("N")[..8];
    private readonly TempFolder _dir = new();
    private readonly LogCapture _log = new();

    public void Dispose()
    {
        _dir.Dispose();
        _log.Dispose();
    }

    private static TransferOptions Options(params string[] stages) => new()
    {
        ChunkSize = Chunk,
        Transfers = 1,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        Stages = stages,
    };

    private async Task<TransferSummary> CopyAsync(Location from, Location to, TransferOptions? options = null)
    {
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        return await new TransferEngine(manifest).CopyAsync(from, to, options ?? Options());
    }

    private Location Drive(string path, LogCapture? log = null, CountingTokenSource? tokens = null) =>
        At(server.Storage(tokens, (log ?? _log).Factory), $"{_top}/{path}");

    /// <summary>Body bytes the server received for uploads of files named <paramref name="name"/>, broken requests included.</summary>
    private long Received(string name) => server.Google.Requests.UploadBytesFor(name);

    private byte[] Stored(string path) => server.Google.GetContent(server.Google.FindByPath($"{_top}/{path}")!.Id);

    [Fact]
    public async Task CopyAsync_UploadThenDownload_SameSha256AndModifiedTime()
    {
        var content = Random(5 * MiB + 12345, seed: 1);
        var file = _dir.Write("big.bin", content);
        var modified = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        File.SetLastWriteTimeUtc(file, modified.UtcDateTime);

        var up = await CopyAsync(_dir.At("big.bin"), Drive("up/deep/big.bin"));
        var down = await CopyAsync(Drive("up/deep/big.bin"), _dir.At("down/big.bin"));

        Assert.Equal(SessionStatus.Completed, up.Status);
        Assert.Equal(SessionStatus.Completed, down.Status);
        Assert.Equal(Sha256(content), Sha256(Stored("up/deep/big.bin")));
        Assert.Equal(Sha256(content), Sha256(File.ReadAllBytes(_dir["down/big.bin"])));
        Assert.Equal(modified, server.Google.FindByPath($"{_top}/up/deep/big.bin")!.ModifiedTime);
        Assert.Equal(content.Length, Received("big.bin"));
    }

    [Fact]
    public async Task CopyAsync_EmptyFile_IsCreated()
    {
        var file = _dir.Write("empty.bin", []);

        var up = await CopyAsync(_dir.At("empty.bin"), Drive("e/empty.bin"));

        Assert.Equal(SessionStatus.Completed, up.Status);
        Assert.Equal(0, server.Google.FindByPath($"{_top}/e/empty.bin")!.Size);
        _ = file;
    }

    [Fact]
    public async Task CopyAsync_LocalTreeFourAtATime_EveryNewFolderCreatedOnce()
    {
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < 8; i++) files[$"tree/{(i % 2 == 0 ? "a" : "b")}/deep/f{i}.bin"] = Random(100_000 + i, seed: 20 + i);
        foreach (var (path, content) in files) _dir.Write(path, content);
        var options = Options();
        options.Transfers = 4;

        var copied = await CopyAsync(_dir.At("tree/"), Drive("tree/"), options);

        Assert.Equal(SessionStatus.Completed, copied.Status);
        Assert.Equal(8, copied.Files);
        var tree = server.Google.FindByPath($"{_top}/tree")!;
        Assert.Equal(["a", "b"], server.Google.Drive.Children(tree.Id).Select(f => f.Name).Order());
        foreach (var folder in server.Google.Drive.Children(tree.Id))
            Assert.Single(server.Google.Drive.Children(folder.Id));
        foreach (var (path, content) in files)
            Assert.Equal(Md5(content), server.Google.FindByPath($"{_top}/{path}")!.Md5Checksum);
    }

    [Fact]
    public async Task CopyAsync_SameNameAgain_UploadsANewRevisionNotASecondFile()
    {
        var first = Random(300 * KiB, seed: 2);
        var second = Random(400 * KiB, seed: 3);
        _dir.Write("one.bin", first);
        _dir.Write("two.bin", second);

        await CopyAsync(_dir.At("one.bin"), Drive("rev/data.bin"));
        var before = server.Google.FindByPath($"{_top}/rev/data.bin")!;
        var again = await CopyAsync(_dir.At("two.bin"), Drive("rev/data.bin"));
        var after = server.Google.FindByPath($"{_top}/rev/data.bin")!;

        Assert.Equal(SessionStatus.Completed, again.Status);
        Assert.Equal(before.Id, after.Id);
        Assert.NotEqual(before.HeadRevisionId, after.HeadRevisionId);
        Assert.Equal(Md5(second), after.Md5Checksum);
        Assert.Single(server.Google.Drive.Children(after.Parents[0]));
    }

    [Fact]
    public async Task CopyAsync_CrashAfterThreeChunks_ResumeSendsOnlyTheMissingBytes()
    {
        var content = Random(6 * MiB + 777, seed: 4);
        _dir.Write("resumed.bin", content);
        var destination = Drive("resume/resumed.bin");
        // The fourth chunk reaches Drive, but the process dies before the manifest confirms it.
        var crashing = new CrashingWrites(destination.Storage) { CrashAfterWrites = 3, SendBeforeCrash = true };

        var crashed = await CopyAsync(_dir.At("resumed.bin"), destination with { Storage = crashing });
        Assert.Equal(SessionStatus.Failed, crashed.Status);
        Assert.Null(server.Google.FindByPath($"{_top}/resume/resumed.bin"));

        using var log = new LogCapture(); // a new process: a new storage object, nothing in memory
        var resumed = await CopyAsync(_dir.At("resumed.bin"), Drive("resume/resumed.bin", log));

        Assert.Equal(SessionStatus.Completed, resumed.Status);
        Assert.Equal(3L * Chunk, resumed.BytesResumed);
        Assert.Contains("3145728 bytes confirmed, the server holds 4194304", Assert.Single(log.Messages(502)), StringComparison.Ordinal);
        // Every byte crossed the wire once: the chunk the server held unconfirmed was not sent again.
        Assert.Equal(content.Length, Received("resumed.bin"));
        Assert.Single(server.Google.UploadSessions, s => s.Name == "resumed.bin");
        Assert.Equal(Sha256(content), Sha256(Stored("resume/resumed.bin")));
    }

    [Fact]
    public async Task CopyAsync_ConnectionDroppedMidChunk_RetryAsksTheSessionAndSendsOnlyTheRest()
    {
        var content = Random(3 * MiB, seed: 5);
        _dir.Write("dropped.bin", content);
        // The first chunk's connection breaks after 300,000 bytes: Drive keeps one whole 256 KiB granule of them.
        server.Google.Faults.DropConnectionAfter(300_000);

        var copied = await CopyAsync(_dir.At("dropped.bin"), Drive("drop/dropped.bin"));

        Assert.Equal(SessionStatus.Completed, copied.Status);
        var chunks = server.Google.Requests.OfKind(RequestKind.UploadChunk).Where(r => r.UploadSessionName == "dropped.bin").ToList();
        Assert.Single(chunks, r => r.Aborted);
        Assert.Equal(content.Length - 256 * KiB, chunks.Where(r => !r.Aborted).Sum(r => r.BytesReceived));
        Assert.Contains(chunks, r => r.ContentRange == $"bytes {256 * KiB}-{Chunk - 1}/{content.Length}");
        Assert.Contains(server.Google.Requests.OfKind(RequestKind.UploadStatus), r => r.UploadSessionName == "dropped.bin");
        Assert.Equal(Sha256(content), Sha256(Stored("drop/dropped.bin")));
    }

    [Fact]
    public async Task CopyAsync_ServerErrorsRateLimitsAnd429_SurvivedByTheEngineRetries()
    {
        var content = Random(2 * MiB + 5, seed: 6);
        _dir.Write("faulty.bin", content);
        server.Google.Faults.FailNext(RequestKind.UploadChunk, count: 2, status: 503);
        server.Google.Faults.RateLimit(RequestKind.DriveUploadStart, perUser: false);
        server.Google.Faults.TooManyRequests(RequestKind.UploadChunk, TimeSpan.FromSeconds(1));
        server.Google.Faults.FailNext(RequestKind.DriveCreate, status: 500, reason: "internalError");

        var up = await CopyAsync(_dir.At("faulty.bin"), Drive("faults/f/faulty.bin"));
        server.Google.Faults.RateLimit(RequestKind.DriveList);
        server.Google.Faults.FailNext(RequestKind.DriveDownload, status: 502);
        var down = await CopyAsync(Drive("faults/f/faulty.bin"), _dir.At("down/faulty.bin"));

        Assert.Equal(SessionStatus.Completed, up.Status);
        Assert.Equal(SessionStatus.Completed, down.Status);
        Assert.Equal(7, server.Google.Requests.All.Count(r => r.Fault is not null));
        Assert.Equal(Sha256(content), Sha256(File.ReadAllBytes(_dir["down/faulty.bin"])));
        Assert.Single(server.Google.Drive.Children(server.Google.FindByPath($"{_top}/faults")!.Id)); // one "f", not two
    }

    [Fact]
    public async Task CopyAsync_429WithRetryAfter_TheEngineWaitsWhatTheServerAsked()
    {
        var content = Random(MiB, seed: 11);
        _dir.Write("after.bin", content);
        server.Google.Faults.TooManyRequests(RequestKind.UploadChunk, TimeSpan.FromSeconds(1));
        var options = Options();
        options.MaxRetryDelay = TimeSpan.FromSeconds(30);
        using var engineLog = new LogCapture();

        TransferSummary copied;
        await using (var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]))
            copied = await new TransferEngine(manifest, logger: engineLog.Factory.CreateLogger("engine"))
                .CopyAsync(_dir.At("after.bin"), Drive("after/after.bin"), options);

        Assert.Equal(SessionStatus.Completed, copied.Status);
        var retry = Assert.Single(engineLog.Messages(200));
        Assert.Contains("HTTP 429 rateLimitExceeded", retry, StringComparison.Ordinal);
        Assert.EndsWith("waiting 00:00:01 before the next", retry, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CopyAsync_SessionExpiresMidUpload_FileStartsAgainAndCompletes()
    {
        var content = Random(4 * MiB + 3, seed: 7);
        _dir.Write("expiring.bin", content);
        var destination = Drive("exp/expiring.bin");
        var expired = false;
        var crashing = new CrashingWrites(destination.Storage)
        {
            BeforeWrite = n =>
            {
                if (n == 2 && !expired)
                {
                    expired = true;
                    server.Google.ExpireUploadSessions();
                }
            },
        };

        server.Google.Requests.Clear();

        var copied = await CopyAsync(_dir.At("expiring.bin"), destination with { Storage = crashing });

        Assert.Equal(SessionStatus.Completed, copied.Status);
        Assert.Equal(2, server.Google.Requests.OfKind(RequestKind.DriveUploadStart).Count);
        Assert.Equal(content.Length + 2L * Chunk, Received("expiring.bin")); // two chunks into the expired session, then all again
        Assert.Equal(Sha256(content), Sha256(Stored("exp/expiring.bin")));
    }

    [Fact]
    public async Task CopyAsync_SessionExpiredBetweenRuns_FileRestartedFromZero()
    {
        var content = Random(4 * MiB, seed: 8);
        _dir.Write("gone.bin", content);
        var destination = Drive("gone/gone.bin");
        await CopyAsync(_dir.At("gone.bin"), destination with { Storage = new CrashingWrites(destination.Storage) { CrashAfterWrites = 2 } });
        server.Google.ExpireUploadSessions();

        using var log = new LogCapture();
        var again = await CopyAsync(_dir.At("gone.bin"), Drive("gone/gone.bin", log));

        Assert.Equal(SessionStatus.Completed, again.Status);
        Assert.Equal(0, again.BytesResumed);
        Assert.Contains(log.Messages(503), m => m.Contains("expired", StringComparison.Ordinal));
        Assert.Equal(Sha256(content), Sha256(Stored("gone/gone.bin")));
    }

    [Fact]
    public async Task CopyAsync_ExpiredToken_RefreshedOnceForTheWholeCopy()
    {
        var content = Random(2 * MiB, seed: 9);
        _dir.Write("token.bin", content);
        var tokens = server.Tokens();
        server.Google.ExpireAllTokens();

        var copied = await CopyAsync(_dir.At("token.bin"), Drive("tok/token.bin", tokens: tokens));

        Assert.Equal(SessionStatus.Completed, copied.Status);
        Assert.Equal(1, tokens.Refreshes);
    }

    [Fact]
    public async Task CopyAsync_MissingSource_FailsAsNotFound()
    {
        var e = await Assert.ThrowsAsync<Core.Errors.LoadPipeException>(() => CopyAsync(Drive("nowhere/none.bin"), _dir.At("none.bin")));

        Assert.Equal(Core.Errors.ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task CopyAsync_DownloadCrashed_ResumeReadsOnlyTheRestWithARange()
    {
        var content = Random(5 * MiB, seed: 10);
        server.Google.PutFile(server.Google.Drive.CreateFolders($"{_top}/dl"), "download.bin", content);
        var local = _dir.At("down/download.bin");

        var crashed = await CopyAsync(Drive("dl/download.bin"), local with { Storage = new CrashingWrites(local.Storage) { CrashAfterWrites = 2 } });
        server.Google.Requests.Clear();
        var resumed = await CopyAsync(Drive("dl/download.bin"), _dir.At("down/download.bin"));

        Assert.Equal(SessionStatus.Failed, crashed.Status);
        Assert.Equal(SessionStatus.Completed, resumed.Status);
        Assert.Equal(2L * Chunk, resumed.BytesResumed);
        var download = Assert.Single(server.Google.Requests.OfKind(RequestKind.DriveDownload));
        Assert.Equal($"bytes={2 * Chunk}-", download.Range);
        Assert.Equal(Sha256(content), Sha256(File.ReadAllBytes(_dir["down/download.bin"])));
    }

    [Fact]
    public async Task CopyAsync_DownloadConnectionDropped_ReopenedWithARangeFromWhereItBroke()
    {
        var content = Random(3 * MiB, seed: 12);
        server.Google.PutFile(server.Google.Drive.CreateFolders($"{_top}/dldrop"), "cut.bin", content);
        server.Google.Faults.DropDownloadAfter(1_500_000);
        server.Google.Requests.Clear();

        var copied = await CopyAsync(Drive("dldrop/cut.bin"), _dir.At("cut/cut.bin"));

        Assert.Equal(SessionStatus.Completed, copied.Status);
        var downloads = server.Google.Requests.OfKind(RequestKind.DriveDownload);
        Assert.Equal(2, downloads.Count);
        Assert.True(downloads[0].Aborted);
        // The second request starts where the engine had read to (a whole number of its reads), not at zero.
        var resumedAt = long.Parse(downloads[1].Range!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, downloads[0].BytesSent);
        Assert.Equal(content.Length - resumedAt, downloads[1].BytesSent);
        Assert.Equal(Sha256(content), Sha256(File.ReadAllBytes(_dir["cut/cut.bin"])));
    }

    [Fact]
    public async Task CopyAsync_FolderThroughStagesToAnotherFolder_ReRunSendsNothingAndAChangedSourceIsRedone()
    {
        // Seed 000's cycle: a Drive folder of .jsonl.zst -> unzstd, grep, zstd -> another Drive folder.
        var raw = server.Google.Drive.CreateFolders($"{_top}/cycle/raw");
        server.Google.PutFile(raw, "a.jsonl.zst", Zstd(Lines(2000, seed: 1)));
        server.Google.PutFile(raw, "b.jsonl.zst", Zstd(Lines(3000, seed: 2)));
        server.Google.PutFile(raw, "notes.txt", Random(100));
        var options = Options("unzstd", "grep:\"ok\":true", "zstd");
        options.Include = ["*.jsonl.zst"];

        var first = await CopyAsync(Drive("cycle/raw/"), Drive("cycle/clean/"), options);
        var rerun = await CopyAsync(Drive("cycle/raw/"), Drive("cycle/clean/"), options);
        // A new revision of a.jsonl.zst, uploaded through the adapter (PATCH): it is done again, b is not.
        _dir.Write("a2.jsonl.zst", Zstd(Lines(1000, seed: 3)));
        await CopyAsync(_dir.At("a2.jsonl.zst"), Drive("cycle/raw/a.jsonl.zst"));
        var changed = await CopyAsync(Drive("cycle/raw/"), Drive("cycle/clean/"), options);

        Assert.Equal(SessionStatus.Completed, first.Status);
        Assert.Equal(2, first.Files);
        Assert.Equal(2, rerun.FilesSkipped);
        Assert.Equal(0, rerun.BytesSent);
        Assert.Equal(1, changed.FilesSkipped);
        Assert.Equal(Filter(Lines(1000, seed: 3)), Unzstd(Stored("cycle/clean/a.jsonl.zst")));
        Assert.Equal(Filter(Lines(3000, seed: 2)), Unzstd(Stored("cycle/clean/b.jsonl.zst")));
        Assert.Null(server.Google.FindByPath($"{_top}/cycle/clean/notes.txt"));
    }

    private static string Lines(int count, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
            text.Append("{\"id\":").Append(i).Append(",\"ok\":").Append(random.Next(3) == 0 ? "false" : "true").Append(",\"pad\":\"").Append(random.Next()).Append("\"}\n");
        return text.ToString();
    }

    private static string Filter(string lines) =>
        string.Concat(lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("\"ok\":true", StringComparison.Ordinal)).Select(l => l + "\n"));

    private static byte[] Zstd(string text)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(Encoding.UTF8.GetBytes(text)).ToArray();
    }

    private static string Unzstd(byte[] data)
    {
        using var input = new MemoryStream(data);
        using var decompress = new ZstdSharp.DecompressionStream(input);
        using var reader = new StreamReader(decompress, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
