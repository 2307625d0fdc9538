using LoadPipe.Core.Manifest;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;
using ZstdSharp;

namespace LoadPipe.Core.Tests.Transfers;

public sealed class TransferEngineTests : IDisposable
{
    private const int Chunk = 256 << 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TransferOptions Options(params string[] stages) => new()
    {
        ChunkSize = Chunk,
        Stages = stages.ToList(),
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(5),
    };

    private (Location From, Location To, FaultyStorage Faults) Locations(string from, string to)
    {
        var local = new LocalStorage();
        var faulty = new FaultyStorage(local);
        return (new Location(local, from, from), new Location(faulty, to, to), faulty);
    }

    private async Task<TransferSummary> CopyAsync(Location from, Location to, TransferOptions options)
    {
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        return await new TransferEngine(manifest).CopyAsync(from, to, options);
    }

    [Fact]
    public async Task CopyAsync_CrashMidFile_ResumeSendsOnlyTheRest()
    {
        var content = TestData.Random(10 * Chunk + 1234);
        var (from, to, faults) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        faults.CrashAfterWrites = 4;

        var first = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Failed, first.Status);
        Assert.False(File.Exists(_dir["out/dst.bin"]));
        Assert.True(File.Exists(LocalStorage.PartialPath(_dir["out/dst.bin"])));

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(4L * Chunk, second.BytesResumed);
        Assert.Equal(content.Length - 4L * Chunk, second.BytesSent);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(File.ReadAllBytes(_dir["out/dst.bin"])));
        Assert.False(File.Exists(LocalStorage.PartialPath(_dir["out/dst.bin"])));
    }

    [Fact]
    public async Task CopyAsync_FinishedAndUnchanged_SkipsWithZeroBytesSent()
    {
        var content = TestData.Random(3 * Chunk);
        var (from, to, _) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        await CopyAsync(from, to, Options());

        var again = await CopyAsync(from, to, Options());

        Assert.Equal(1, again.FilesSkipped);
        Assert.Equal(0, again.BytesSent);
    }

    [Fact]
    public async Task CopyAsync_DestinationAlreadySameSizeAndTime_SkippedWithoutManifestRecord()
    {
        var content = TestData.Random(2 * Chunk);
        var (from, to, _) = Locations(_dir.Write("src.bin", content), _dir.Write("out/dst.bin", content));
        File.SetLastWriteTimeUtc(_dir["out/dst.bin"], File.GetLastWriteTimeUtc(_dir["src.bin"]));

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(1, summary.FilesSkipped);
        Assert.Equal(0, summary.BytesSent);
    }

    [Fact]
    public async Task CopyAsync_DestinationSameSizeOtherTime_Overwritten()
    {
        var content = TestData.Random(2 * Chunk, seed: 5);
        var (from, to, _) = Locations(_dir.Write("src.bin", content), _dir.Write("out/dst.bin", TestData.Random(2 * Chunk, seed: 6)));
        File.SetLastWriteTimeUtc(_dir["out/dst.bin"], File.GetLastWriteTimeUtc(_dir["src.bin"]).AddHours(-1));

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(0, summary.FilesSkipped);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("zstd")]
    public async Task CopyAsync_KilledAfterTheRenameBeforeTheRecord_RecordsTheFinishedFileWithoutSendingIt(string pipeline)
    {
        string[] stages = pipeline.Length == 0 ? [] : [pipeline];
        var content = TestData.Random(10 * Chunk + 1234, seed: 7);
        var (from, to, faults) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        faults.CrashAfterCommit = true;
        var first = await CopyAsync(from, to, Options(stages));
        var finished = File.ReadAllBytes(_dir["out/dst.bin"]);
        var modified = File.GetLastWriteTimeUtc(_dir["out/dst.bin"]);

        faults.CrashAfterCommit = false;
        var second = await CopyAsync(from, to, Options(stages));

        Assert.Equal(SessionStatus.Failed, first.Status);
        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(0, second.BytesSent);
        Assert.Equal(finished.Length, second.BytesResumed);
        Assert.Equal(finished.Length, second.Bytes);
        Assert.Equal(modified, File.GetLastWriteTimeUtc(_dir["out/dst.bin"]));
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var record = await manifest.FindTransferAsync(new Core.Manifest.TransferKey(from.Uri, to.Uri, string.Join(" | ", stages)));
        Assert.Equal(Core.Manifest.TransferStatus.Completed, record!.Status);
        Assert.Equal(TestData.Sha256(finished), record.Sha256);
    }

    [Fact]
    public async Task CopyAsync_KilledAfterTheRenameThenFileReplacedWithOtherTail_SendsItAgain()
    {
        var content = TestData.Random(10 * Chunk + 1234, seed: 8);
        var (from, to, faults) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        faults.CrashAfterCommit = true;
        await CopyAsync(from, to, Options());
        // Same size, same confirmed chunks: only the last bytes, which no chunk record covers, differ.
        using (var f = File.OpenWrite(_dir["out/dst.bin"])) { f.Position = content.Length - 10; f.Write(new byte[10]); }

        faults.CrashAfterCommit = false;
        var second = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(content.Length, second.BytesSent);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_DestinationDeletedAfterFinish_CopiesAgain()
    {
        var content = TestData.Random(Chunk);
        var (from, to, _) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        await CopyAsync(from, to, Options());
        File.Delete(_dir["out/dst.bin"]);

        var again = await CopyAsync(from, to, Options());

        Assert.Equal(0, again.FilesSkipped);
        Assert.Equal(content.Length, again.BytesSent);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_SourceChangedAfterCrash_RestartsFromZero()
    {
        var (from, to, faults) = Locations(_dir.Write("src.bin", TestData.Random(8 * Chunk, seed: 1)), _dir["out/dst.bin"]);
        faults.CrashAfterWrites = 3;
        await CopyAsync(from, to, Options());

        var changed = TestData.Random(8 * Chunk, seed: 2);
        File.WriteAllBytes(_dir["src.bin"], changed);
        File.SetLastWriteTimeUtc(_dir["src.bin"], DateTime.UtcNow.AddMinutes(1));
        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(0, second.BytesResumed);
        Assert.Equal(changed.Length, second.BytesSent);
        Assert.Equal(TestData.Sha256(changed), TestData.Sha256(File.ReadAllBytes(_dir["out/dst.bin"])));
    }

    [Fact]
    public async Task CopyAsync_PartialFileCorruptedBetweenRuns_DetectsAndRestarts()
    {
        var content = TestData.Random(6 * Chunk);
        var (from, to, faults) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        faults.CrashAfterWrites = 3;
        await CopyAsync(from, to, Options());
        var partial = LocalStorage.PartialPath(_dir["out/dst.bin"]);
        using (var f = File.OpenWrite(partial)) { f.Position = 10; f.WriteByte(0xFF); f.WriteByte(0xEE); }

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(content.Length, second.BytesSent);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_NewestConfirmedChunkLostBetweenRuns_KeepsTheGoodOnesAndResendsTheRest()
    {
        var content = TestData.Random(8 * Chunk);
        var (from, to, faults) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        faults.CrashAfterWrites = 4;
        await CopyAsync(from, to, Options());
        // As a power loss would: the fourth chunk's bytes never reached the disk.
        using (var f = File.OpenWrite(LocalStorage.PartialPath(_dir["out/dst.bin"]))) { f.Position = 3L * Chunk + 5; f.Write(new byte[100]); }

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(3L * Chunk, second.BytesResumed);
        Assert.Equal(content.Length - 3L * Chunk, second.BytesSent);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_ReplayModeWithDamagedPartial_ChecksTheDestinationNotJustTheReplay()
    {
        var content = TestData.JsonLines(12 * Chunk);
        var (from, to, faults) = Locations(_dir.Write("log.jsonl", content), _dir["out/errors.jsonl"]);
        faults.CrashAfterWrites = 2;
        await CopyAsync(from, to, Options("grep:error"));
        using (var f = File.OpenWrite(LocalStorage.PartialPath(_dir["out/errors.jsonl"]))) { f.Position = Chunk + 7; f.WriteByte(0); }

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options("grep:error"));

        var expected = string.Concat(System.Text.Encoding.UTF8.GetString(content).Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).Select(l => l + "\n"));
        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal((long)Chunk, second.BytesResumed);
        Assert.Equal(expected, File.ReadAllText(_dir["out/errors.jsonl"]));
    }

    [Fact]
    public async Task CopyAsync_ThroughZstdCrashMidFile_ResumesAtFrameBoundaryAndDecodes()
    {
        var content = TestData.JsonLines(12 * Chunk);
        var (from, to, faults) = Locations(_dir.Write("log.jsonl", content), _dir["out/log.zst"]);
        faults.CrashAfterWrites = 5;
        var first = await CopyAsync(from, to, Options("zstd"));
        Assert.Equal(SessionStatus.Failed, first.Status);

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options("zstd"));

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.True(second.BytesResumed > 0);
        Assert.Equal(second.Bytes, second.BytesResumed + second.BytesSent);
        using var decompressor = new Decompressor();
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(decompressor.Unwrap(File.ReadAllBytes(_dir["out/log.zst"])).ToArray()));
    }

    [Fact]
    public async Task CopyAsync_ThroughUnzstdGrepZstdCrash_ReplaysWithoutResending()
    {
        var content = TestData.JsonLines(16 * Chunk);
        using (var compressor = new Compressor(3)) _dir.Write("log.zst", compressor.Wrap(content).ToArray());
        var expected = System.Text.Encoding.UTF8.GetBytes(string.Concat(
            System.Text.Encoding.UTF8.GetString(content).Split('\n').Where(l => l.Contains("\"error\"", StringComparison.Ordinal)).Select(l => l + "\n")));
        var (from, to, faults) = Locations(_dir["log.zst"], _dir["out/errors.jsonl"]);
        faults.CrashAfterWrites = 2;
        var first = await CopyAsync(from, to, Options("unzstd", "grep:\"error\""));
        Assert.Equal(SessionStatus.Failed, first.Status);

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options("unzstd", "grep:\"error\""));

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(2L * Chunk, second.BytesResumed);
        Assert.Equal(expected.Length - 2L * Chunk, second.BytesSent);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(File.ReadAllBytes(_dir["out/errors.jsonl"])));
    }

    [Fact]
    public async Task CopyAsync_ReplayFromRemoteSourceWithCache_ReadsCachedBlocksNotTheSource()
    {
        var content = TestData.JsonLines(12 * Chunk);
        var local = new LocalStorage();
        var source = new CountingStorage(local);
        var faulty = new FaultyStorage(local);
        var from = new Location(source, _dir.Write("log.jsonl", content), "remote:log.jsonl");
        var to = new Location(faulty, _dir["out/errors.jsonl"], _dir["out/errors.jsonl"]);
        var options = Options("grep:\"error\"");
        options.CacheDirectory = _dir["cache"];
        faulty.CrashAfterWrites = 1;
        await CopyAsync(from, to, options);
        var readFirst = source.BytesRead;

        faulty.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, options);

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.True(second.BytesResumed > 0);
        // What remained plus at most the one block being read when the first run crashed (read, not yet cached).
        Assert.True(source.BytesRead - readFirst <= content.Length - readFirst + Chunk,
            $"read {source.BytesRead - readFirst} bytes from the source on replay; the cache held {readFirst}");
        Assert.True(readFirst >= Chunk);
        var expected = string.Concat(System.Text.Encoding.UTF8.GetString(content).Split('\n').Where(l => l.Contains("\"error\"", StringComparison.Ordinal)).Select(l => l + "\n"));
        Assert.Equal(expected, File.ReadAllText(_dir["out/errors.jsonl"]));
    }

    [Fact]
    public async Task CopyAsync_ThroughExecCrash_RestartsTheFile()
    {
        var content = TestData.JsonLines(6 * Chunk);
        var (from, to, faults) = Locations(_dir.Write("in.txt", content), _dir["out/upper.txt"]);
        faults.CrashAfterWrites = 2;
        await CopyAsync(from, to, Options("exec:tr a-z A-Z"));

        faults.CrashAfterWrites = null;
        var second = await CopyAsync(from, to, Options("exec:tr a-z A-Z"));

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(0, second.BytesResumed);
        Assert.Equal(content.Length, second.BytesSent);
        Assert.Equal(System.Text.Encoding.ASCII.GetString(content).ToUpperInvariant(), File.ReadAllText(_dir["out/upper.txt"]));
    }

    [Fact]
    public async Task CopyAsync_TransientWriteFaults_RetriedAndCompleted()
    {
        var content = TestData.Random(3 * Chunk);
        var (from, to, faults) = Locations(_dir.Write("src.bin", content), _dir["out/dst.bin"]);
        faults.TransientWriteFaults = 3;

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_TransientFaultsBeyondRetries_FailsWithoutFinalFile()
    {
        var (from, to, faults) = Locations(_dir.Write("src.bin", TestData.Random(Chunk)), _dir["out/dst.bin"]);
        faults.TransientWriteFaults = 100;
        var options = Options();
        options.Retries = 2;

        var summary = await CopyAsync(from, to, options);

        Assert.Equal(SessionStatus.Failed, summary.Status);
        Assert.Contains("injected transient fault", summary.Failures.Single().Error);
        Assert.False(File.Exists(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_FolderWithIncludeAndExclude_CopiesOnlyMatchingTree()
    {
        _dir.Write("tree/a.jpg", [1]);
        _dir.Write("tree/sub/b.jpg", [2, 2]);
        _dir.Write("tree/sub/c.txt", [3]);
        _dir.Write("tree/sub/skip.jpg", [4]);
        var (from, to, _) = Locations(_dir["tree"], _dir["copy"]);
        var options = Options();
        options.Include = ["*.jpg"];
        options.Exclude = ["skip.*"];

        var summary = await CopyAsync(from, to, options);

        Assert.Equal(2, summary.Files);
        Assert.Equal([1], File.ReadAllBytes(_dir["copy/a.jpg"]));
        Assert.Equal([2, 2], File.ReadAllBytes(_dir["copy/sub/b.jpg"]));
        Assert.False(File.Exists(_dir["copy/sub/c.txt"]));
        Assert.False(File.Exists(_dir["copy/sub/skip.jpg"]));
    }

    [Fact]
    public async Task CopyAsync_SameStoreWithServerSideCopy_NoBytesThroughUs()
    {
        var content = TestData.Random(3 * Chunk);
        var store = new CopyingStorage(new LocalStorage());
        var from = new Location(store, _dir.Write("src.bin", content), _dir["src.bin"]);
        var to = new Location(store, _dir["out/dst.bin"], _dir["out/dst.bin"]);

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(1, store.ServerSideCopies);
        Assert.Equal(0, summary.BytesSent);
        Assert.Equal(content.Length, summary.Bytes);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_ServerSideCopyMaskedByTheStore_StreamsTheBytes()
    {
        var content = TestData.Random(3 * Chunk);
        // It implements IServerSideCopier, but its features leave it out: the engine asks the features.
        var store = new CopyingStorage(new LocalStorage()) { OffersServerSideCopy = false };
        var from = new Location(store, _dir.Write("src.bin", content), _dir["src.bin"]);
        var to = new Location(store, _dir["out/dst.bin"], _dir["out/dst.bin"]);

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(0, store.ServerSideCopies);
        Assert.Equal(content.Length, summary.BytesSent);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_ServerSideCopyCannot_FallsBackToStreaming()
    {
        var content = TestData.Random(3 * Chunk);
        var store = new CopyingStorage(new LocalStorage());
        var from = new Location(new LocalStorage(), _dir.Write("src.bin", content), _dir["src.bin"]);
        var to = new Location(store, _dir["out/dst.bin"], _dir["out/dst.bin"]);

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(0, store.ServerSideCopies);
        Assert.Equal(content.Length, summary.BytesSent);
        Assert.Equal(content, File.ReadAllBytes(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task RetryAsync_FailedFileFixed_SessionBecomesCompleted()
    {
        _dir.Write("tree/a.bin", TestData.Random(1000, 1));
        _dir.Write("tree/b.bin", TestData.Random(2000, 2));
        Directory.CreateDirectory(_dir["copy/b.bin"]);
        var (from, to, _) = Locations(_dir["tree"], _dir["copy"]);
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var engine = new TransferEngine(manifest);
        var first = await engine.CopyAsync(from, to, Options());
        Assert.Equal((SessionStatus.Partial, 1), (first.Status, first.FilesFailed));
        var failed = await manifest.ListTransfersAsync(first.Session).Where(t => t.Status == LoadPipe.Core.Manifest.TransferStatus.Failed).ToListAsync();
        Directory.Delete(_dir["copy/b.bin"]);

        var planned = new PlannedSizes();
        var retried = await engine.RetryAsync(first.Session,
            failed.Select(t => (new Location(from.Storage, t.Key.Source, t.Key.Source), new Location(to.Storage, t.Key.Destination, t.Key.Destination))).ToList(),
            Options(), planned);

        Assert.Equal((SessionStatus.Completed, 1, 2000L), (retried.Status, retried.Files, retried.BytesSent));
        Assert.Equal([2000L], planned.Sizes);
        var session = (await manifest.GetSessionAsync(first.Session))!;
        Assert.Equal((SessionStatus.Completed, 2, 0), (session.Status, session.Files, session.FilesFailed));
        Assert.Equal(TestData.Random(2000, 2), File.ReadAllBytes(_dir["copy/b.bin"]));
    }

    [Fact]
    public async Task CopyAsync_EmptyFile_CreatesEmptyDestination()
    {
        var (from, to, _) = Locations(_dir.Write("empty", []), _dir["out/empty"]);

        var summary = await CopyAsync(from, to, Options());

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Empty(File.ReadAllBytes(_dir["out/empty"]));
    }

    [Fact]
    public async Task CopyAsync_MissingSource_ThrowsNotFound()
    {
        var (from, to, _) = Locations(_dir["nope"], _dir["out/x"]);

        var e = await Assert.ThrowsAsync<Errors.LoadPipeException>(() => CopyAsync(from, to, Options()));

        Assert.Equal(Errors.ErrorKind.NotFound, e.Kind);
    }

    /// <summary>The sizes the engine reported as planned (what the progress display totals).</summary>
    private sealed class PlannedSizes : ITransferObserver
    {
        public List<long> Sizes { get; } = [];

        public void FilePlanned(long size)
        {
            lock (Sizes) Sizes.Add(size);
        }
    }
}
