using Amazon.S3.Model;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.S3.Tests.Support;
using static LoadPipe.Storage.S3.Tests.Support.TestData;

namespace LoadPipe.Storage.S3.Tests;

/// <summary>Whole transfers through the real engine and a SQLite manifest, against the S3 server.</summary>
public sealed class S3TransferTests : IDisposable
{
    private const int Chunk = 5 * MiB;
    private readonly TempFolder _dir = new();
    private readonly LogCapture _log = new();
    private readonly string _prefix = S3Server.NewPrefix("transfer");

    public void Dispose()
    {
        _dir.Dispose();
        _log.Dispose();
    }

    private static TransferOptions Options(params string[] stages) => new()
    {
        ChunkSize = Chunk,
        Transfers = 1,
        Stages = stages.ToList(),
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(5),
    };

    private async Task<TransferSummary> CopyAsync(Location from, Location to, params string[] stages)
    {
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        return await new TransferEngine(manifest).CopyAsync(from, to, Options(stages));
    }

    /// <summary>What `--process zstd` writes for <paramref name="content"/>: one frame per chunk.</summary>
    private static byte[] ZstdFrames(byte[] content)
    {
        var output = new FrameBuffer();
        var zstd = new ZstdStage();
        for (var offset = 0; offset < content.Length; offset += Chunk)
            FrameEncoding.Encode(zstd, content.AsSpan(offset, Math.Min(Chunk, content.Length - offset)), output);
        return output.WrittenSpan.ToArray();
    }

    private string S3(string name, string bucket = S3Server.Bucket) => $"{S3Server.Remote}:{bucket}/{_prefix}/{name}";

    [Fact]
    public async Task CopyAsync_Upload40MiBInParts_DownloadHasTheSameSha256()
    {
        var content = Random(40 * MiB);
        var file = _dir.Write("big.bin", content);
        var resolver = S3Server.Resolver(_log.Factory);

        var up = await CopyAsync(resolver.Resolve(file), resolver.Resolve(S3("big.bin")));
        var down = await CopyAsync(resolver.Resolve(S3("big.bin")), resolver.Resolve(_dir["down/big.bin"]));

        Assert.Equal(SessionStatus.Completed, up.Status);
        Assert.Equal(content.Length, up.BytesSent);
        Assert.Single(_log.Messages(305)); // one multipart upload, eight parts
        Assert.Equal(SessionStatus.Completed, down.Status);
        Assert.Equal(content.Length, down.BytesSent);
        Assert.Equal(Sha256(content), Sha256(_dir["down/big.bin"]));
    }

    [Fact]
    public async Task CopyAsync_CrashAfterThreeParts_ResumeListsPartsAndSendsOnlyTheRest()
    {
        var content = Random(23 * MiB, seed: 2);
        var file = _dir.Write("resumed.bin", content);
        var key = $"{_prefix}/resumed.bin";
        var first = S3Server.Resolver(_log.Factory);
        var destination = first.Resolve(S3("resumed.bin"));
        // The fourth part reaches the server, but the crash comes before the manifest confirms it.
        var faulty = new CrashingWrites(destination.Storage) { CrashAfterWrites = 3, SendBeforeCrash = true };

        var crashed = await CopyAsync(first.Resolve(file), destination with { Storage = faulty });

        Assert.Equal(SessionStatus.Failed, crashed.Status);
        // The parallel path users run (up to upload_concurrency parts in flight): the three parts before the crash
        // point and the one at it went out through WriteChunkAsync, not one after another through WriteAsync.
        Assert.True(faulty.ParallelWrites >= 4, $"{faulty.ParallelWrites} parallel writes");
        Assert.Null(await destination.Storage.StatAsync(destination.Path)); // nothing visible before completion

        using var log = new LogCapture(); // a new process
        var second = S3Server.Resolver(log.Factory);
        var resumed = await CopyAsync(second.Resolve(file), second.Resolve(S3("resumed.bin")));

        Assert.Equal(SessionStatus.Completed, resumed.Status);
        Assert.Equal(3L * Chunk, resumed.BytesResumed);
        Assert.Equal(content.Length - 3L * Chunk, resumed.BytesSent);
        Assert.Contains("the server lists 4 parts, 3 of them confirmed", Assert.Single(log.Messages(301)));
        if (S3Server.LogFile is not null)
            Assert.Contains(S3Server.LogLines($"for \"{key}\""), line => line.Contains("ListParts of upload", StringComparison.Ordinal));
        Assert.Equal(Sha256(content), Sha256(await S3Server.GetAsync(key)));
    }

    [Fact]
    public async Task CopyAsync_ServerWithoutListParts_ResumesFromTheManifestWithAWarning()
    {
        // server.js leaves buckets named plain-* to s3rver alone: ListParts and Abort answer 405 there.
        var bucket = "plain-" + Guid.NewGuid().ToString("N")[..12];
        await S3Server.Client().PutBucketAsync(bucket);
        var content = Random(18 * MiB, seed: 3);
        var file = _dir.Write("fallback.bin", content);
        var first = S3Server.Resolver(_log.Factory);
        var destination = first.Resolve(S3("fallback.bin", bucket));
        var faulty = new CrashingWrites(destination.Storage) { CrashAfterWrites = 3, SendBeforeCrash = true };
        await CopyAsync(first.Resolve(file), destination with { Storage = faulty });

        using var log = new LogCapture();
        var second = S3Server.Resolver(log.Factory);
        var resumed = await CopyAsync(second.Resolve(file), second.Resolve(S3("fallback.bin", bucket)));

        Assert.Equal(SessionStatus.Completed, resumed.Status);
        Assert.Equal(content.Length - 3L * Chunk, resumed.BytesSent);
        Assert.Contains("cannot list the parts", Assert.Single(log.Messages(300)));
        Assert.Empty(log.Messages(301));
        Assert.Equal(Sha256(content), Sha256(await S3Server.GetAsync($"{_prefix}/fallback.bin", bucket)));
    }

    [Fact]
    public async Task CopyAsync_UploadAbortedBetweenRuns_StartsAgainFromZero()
    {
        var content = Random(17 * MiB, seed: 4);
        var file = _dir.Write("aborted.bin", content);
        var key = $"{_prefix}/aborted.bin";
        var first = S3Server.Resolver(_log.Factory);
        var destination = first.Resolve(S3("aborted.bin"));
        await CopyAsync(first.Resolve(file), destination with { Storage = new CrashingWrites(destination.Storage) { CrashAfterWrites = 2 } });
        // Meanwhile a lifecycle rule (or another tool) aborts the unfinished upload.
        var client = S3Server.Client();
        var uploads = await client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = S3Server.Bucket, Prefix = key });
        await client.AbortMultipartUploadAsync(S3Server.Bucket, key, Assert.Single(uploads.MultipartUploads).UploadId);

        using var log = new LogCapture();
        var second = S3Server.Resolver(log.Factory);
        var again = await CopyAsync(second.Resolve(file), second.Resolve(S3("aborted.bin")));

        Assert.Equal(SessionStatus.Completed, again.Status);
        Assert.Equal(0, again.BytesResumed);
        Assert.Equal(content.Length, again.BytesSent);
        Assert.Contains("no longer has it", Assert.Single(log.Messages(302)));
        Assert.Equal(Sha256(content), Sha256(await S3Server.GetAsync(key)));
    }

    [Fact]
    public async Task CopyAsync_IncompressibleThroughZstdCrashAfterThreeParts_ResumesWithoutSendingThemAgain()
    {
        // Each frame is a little longer than its 5 MiB chunk: no part ends on an input boundary.
        var content = Random(23 * MiB, seed: 11);
        var expected = ZstdFrames(content);
        var file = _dir.Write("random.bin", content);
        var key = $"{_prefix}/random.bin.zst";
        var first = S3Server.Resolver(_log.Factory);
        var destination = first.Resolve(S3("random.bin.zst"));
        var crashed = await CopyAsync(first.Resolve(file), destination with { Storage = new CrashingWrites(destination.Storage) { CrashAfterWrites = 3 } }, "zstd");

        using var log = new LogCapture();
        var second = S3Server.Resolver(log.Factory);
        var resumed = await CopyAsync(second.Resolve(file), second.Resolve(S3("random.bin.zst")), "zstd");

        Assert.Equal(SessionStatus.Failed, crashed.Status);
        Assert.Equal(SessionStatus.Completed, resumed.Status);
        Assert.Equal(3L * Chunk, resumed.BytesResumed);
        Assert.Equal(expected.Length - 3L * Chunk, resumed.BytesSent);
        Assert.Equal(Sha256(expected), Sha256(await S3Server.GetAsync(key)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("zstd")]
    public async Task CopyAsync_CrashAfterTheUploadCompleted_RecordsTheObjectWithoutSendingItAgain(string pipeline)
    {
        string[] stages = pipeline.Length == 0 ? [] : [pipeline];
        var content = Random(17 * MiB, seed: 12);
        var file = _dir.Write("completed.bin", content);
        var key = $"{_prefix}/completed.bin";
        var first = S3Server.Resolver(_log.Factory);
        var destination = first.Resolve(S3("completed.bin"));
        // CompleteMultipartUpload went through; the process died before the manifest recorded it.
        var crashed = await CopyAsync(first.Resolve(file), destination with { Storage = new CrashingWrites(destination.Storage) { CrashAfterCommit = true } }, stages);
        var stored = await S3Server.GetAsync(key);

        using var log = new LogCapture();
        var second = S3Server.Resolver(log.Factory);
        var from = second.Resolve(file);
        var to = second.Resolve(S3("completed.bin"));
        var again = await CopyAsync(from, to, stages);

        Assert.Equal(SessionStatus.Failed, crashed.Status);
        Assert.Equal(SessionStatus.Completed, again.Status);
        Assert.Equal(0, again.BytesSent);
        Assert.Equal(stored.Length, again.BytesResumed);
        Assert.Empty(log.Messages(305)); // no new upload
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var record = await manifest.FindTransferAsync(new TransferKey(from.Key, to.Key, string.Join(" | ", stages)));
        Assert.Equal(TransferStatus.Completed, record!.Status);
        Assert.Equal(Sha256(stored), record.Sha256);
        Assert.Equal(Sha256(stages.Length == 0 ? content : ZstdFrames(content)), Sha256(stored));
    }

    [Fact]
    public async Task CopyAsync_DownloadCrashed_ResumeReadsOnlyTheRestWithARange()
    {
        var content = Random(23 * MiB, seed: 5);
        var key = $"{_prefix}/download.bin";
        await S3Server.PutAsync(key, content);
        var target = _dir["down/download.bin"];

        var first = S3Server.Resolver(_log.Factory);
        var local = first.Resolve(target);
        var crashed = await CopyAsync(first.Resolve(S3("download.bin")), local with { Storage = new CrashingWrites(local.Storage) { CrashAfterWrites = 2 } });
        var second = S3Server.Resolver(_log.Factory);
        var source = second.Resolve(S3("download.bin"));
        var counting = new CountingReads(source.Storage);
        var resumed = await CopyAsync(source with { Storage = counting }, second.Resolve(target));

        Assert.Equal(SessionStatus.Failed, crashed.Status);
        Assert.Equal(SessionStatus.Completed, resumed.Status);
        Assert.Equal(2L * Chunk, resumed.BytesResumed);
        Assert.Equal(content.Length - 2L * Chunk, resumed.BytesSent);
        Assert.Equal(2L * Chunk, counting.Offsets[0]);
        Assert.Equal(content.Length - 2L * Chunk, counting.BytesRead);
        Assert.Equal(Sha256(content), Sha256(target));
    }

    [Fact]
    public async Task CopyAsync_WithinOneEndpoint_CopiesServerSideWithoutSendingBytes()
    {
        var content = Random(7 * MiB, seed: 6);
        await S3Server.PutAsync($"{_prefix}/original.bin", content);
        var other = S3Server.Definition(name: "s3other"); // another remote on the same endpoint
        var resolver = S3Server.Resolver(_log.Factory, other);

        var same = await CopyAsync(resolver.Resolve(S3("original.bin")), resolver.Resolve(S3("copy.bin")));
        var across = await CopyAsync(resolver.Resolve(S3("original.bin")), resolver.Resolve($"s3other:{S3Server.Bucket}/{_prefix}/copy2.bin"));

        Assert.Equal(SessionStatus.Completed, same.Status);
        Assert.Equal(0, same.BytesSent);
        Assert.Equal(content.Length, same.Bytes);
        Assert.Equal(0, across.BytesSent);
        Assert.Equal(2, _log.Messages(306).Count);
        Assert.Equal(content, await S3Server.GetAsync($"{_prefix}/copy.bin"));
        Assert.Equal(content, await S3Server.GetAsync($"{_prefix}/copy2.bin"));
    }

    [Fact]
    public async Task CopyAsync_SmallAndEmptyFiles_OnePutObjectEach()
    {
        var small = Random(1000, seed: 7);
        var resolver = S3Server.Resolver(_log.Factory);

        var one = await CopyAsync(resolver.Resolve(_dir.Write("small.bin", small)), resolver.Resolve(S3("small.bin")));
        var empty = await CopyAsync(resolver.Resolve(_dir.Write("empty.bin", [])), resolver.Resolve(S3("empty.bin")));

        Assert.Equal(small.Length, one.BytesSent);
        Assert.Equal(SessionStatus.Completed, empty.Status);
        Assert.Empty(_log.Messages(305)); // no multipart upload started
        Assert.Equal(small, await S3Server.GetAsync($"{_prefix}/small.bin"));
        Assert.Empty(await S3Server.GetAsync($"{_prefix}/empty.bin"));
    }

    [Fact]
    public async Task CopyAsync_FolderUpAndDown_KeepsTheTree()
    {
        _dir.Write("tree/a.txt", Random(100, seed: 8));
        _dir.Write("tree/sub/b.txt", Random(200, seed: 9));
        _dir.Write("tree/sub/deeper/c.txt", Random(300, seed: 10));
        var resolver = S3Server.Resolver(_log.Factory);

        var up = await CopyAsync(resolver.Resolve(_dir["tree"] + "/"), resolver.Resolve(S3("tree/")));
        var down = await CopyAsync(resolver.Resolve(S3("tree/")), resolver.Resolve(_dir["back"] + "/"));

        Assert.Equal(3, up.Files);
        Assert.Equal(3, down.Files);
        foreach (var name in new[] { "a.txt", "sub/b.txt", "sub/deeper/c.txt" })
            Assert.Equal(Sha256(_dir["tree/" + name]), Sha256(_dir["back/" + name]));
    }
}
