using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>Which whole-file hashes a copy computes (TransferOptions.Hashes), and MD5 added where it is needed.</summary>
public sealed class HashSelectionTests : IDisposable
{
    private const int Chunk = 256 << 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(TransferSummary Summary, List<FileResult> Files, TransferRecord Record)> CopyAsync(IStorage source, string from, Location to, TransferOptions options)
    {
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var observer = new Collect();
        var summary = await new TransferEngine(manifest).CopyAsync(new Location(source, from, from), to, options, observer);
        var record = await manifest.ListTransfersAsync(summary.Session).SingleAsync();
        return (summary, observer.Files, record);
    }

    private static TransferOptions Options(ContentHashes? hashes = null)
    {
        var options = new TransferOptions { ChunkSize = Chunk, RetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(5) };
        if (hashes is { } h) options.Hashes = h;
        return options;
    }

    private Location Local(string path) => new(new LocalStorage(), _dir[path], _dir[path]);

    [Fact]
    public async Task CopyAsync_Default_RecordsSha256OnlyNoMd5()
    {
        var content = TestData.Random(5 * Chunk + 17);
        var (summary, files, record) = await CopyAsync(new LocalStorage(), _dir.Write("src.bin", content), Local("out/dst.bin"), Options());

        Assert.Equal(SessionStatus.Completed, summary.Status);
        var file = Assert.Single(files);
        Assert.Equal((TestData.Sha256(content), (string?)null), (file.Sha256, file.Md5));
        Assert.Equal((TestData.Sha256(content), (string?)null), (record.Sha256, record.Md5));
    }

    [Fact]
    public async Task CopyAsync_Md5AndSha256AskedAfterCrash_BothCoverEveryByte()
    {
        var content = TestData.Random(6 * Chunk + 99);
        var local = new LocalStorage();
        var faulty = new FaultyStorage(local) { CrashAfterWrites = 3 };
        var to = new Location(faulty, _dir["out/dst.bin"], _dir["out/dst.bin"]);
        var src = _dir.Write("src.bin", content);
        var both = ContentHashes.Md5 | ContentHashes.Sha256;
        Assert.Equal(SessionStatus.Failed, (await CopyAsync(local, src, to, Options(both))).Summary.Status);

        faulty.CrashAfterWrites = null;
        var (summary, files, record) = await CopyAsync(local, src, to, Options(both));

        Assert.Equal(3L * Chunk, summary.BytesResumed);
        var file = Assert.Single(files);
        var expected = (Convert.ToHexStringLower(MD5.HashData(content)), TestData.Sha256(content));
        Assert.Equal(expected, (file.Md5, file.Sha256));
        Assert.Equal(expected, (record.Md5, record.Sha256));
    }

    [Fact]
    public async Task CopyAsync_NoneAsked_RecordsNoHash()
    {
        var content = TestData.Random(2 * Chunk);
        var (_, files, record) = await CopyAsync(new LocalStorage(), _dir.Write("src.bin", content), Local("out/dst.bin"), Options(ContentHashes.None));

        Assert.Equal(((string?)null, (string?)null), (Assert.Single(files).Md5, record.Sha256));
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(File.ReadAllBytes(_dir["out/dst.bin"])));
    }

    [Fact]
    public async Task CopyAsync_SourceOffersWrongMd5_FailsWithIntegrityEvenWhenMd5NotAsked()
    {
        var content = TestData.Random(3 * Chunk);
        var source = new HashOfferingStorage(new LocalStorage(), new string('0', 32));
        var (summary, files, _) = await CopyAsync(source, _dir.Write("src.bin", content), Local("out/dst.bin"), Options());

        Assert.Equal(SessionStatus.Failed, summary.Status);
        Assert.Equal(ErrorKind.Integrity, Assert.Single(files).ErrorKind);
        Assert.False(File.Exists(_dir["out/dst.bin"]));
    }

    [Fact]
    public async Task CopyAsync_SourceOffersRightMd5_CheckedAndRecorded()
    {
        var content = TestData.Random(3 * Chunk);
        var md5 = Convert.ToHexStringLower(MD5.HashData(content));
        var (summary, files, _) = await CopyAsync(new HashOfferingStorage(new LocalStorage(), md5), _dir.Write("src.bin", content), Local("out/dst.bin"), Options());

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(md5, Assert.Single(files).Md5);
    }

    [Theory]
    [InlineData("sha256", ContentHashes.Sha256)]
    [InlineData("MD5,sha256", ContentHashes.Md5 | ContentHashes.Sha256)]
    [InlineData("none", ContentHashes.None)]
    public void Parse_KnownNames_Combined(string text, ContentHashes expected) =>
        Assert.Equal(expected, ContentHashNames.Parse([text], "--hash"));

    [Fact]
    public void Parse_UnknownName_UsageErrorNamingIt()
    {
        var e = Assert.Throws<LoadPipeException>(() => ContentHashNames.Parse(["sha1"], "--hash"));
        Assert.Equal((ErrorKind.Usage, "--hash: unknown hash 'sha1' (known: md5, sha256, none)"), (e.Kind, e.Message));
    }

    private sealed class Collect : ITransferObserver
    {
        public List<FileResult> Files { get; } = [];

        public void FileFinished(FileResult result)
        {
            lock (Files) Files.Add(result);
        }
    }

    /// <summary>Local disk whose stat offers an MD5, as S3 and Drive do.</summary>
    private sealed class HashOfferingStorage(LocalStorage inner, string md5) : IStorage, IRangedReader
    {
        public string Description => inner.Description;

        public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) => inner.ListAsync(path, recursive, cancellationToken);

        public async Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) =>
            await inner.StatAsync(path, cancellationToken) is { } info ? info with { Hashes = new Dictionary<string, string> { ["md5"] = md5 } } : null;

        public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) => inner.OpenReadAsync(path, options, cancellationToken);
    }
}
