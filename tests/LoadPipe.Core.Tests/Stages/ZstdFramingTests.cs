using LoadPipe.Core.Manifest;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Stages;

/// <summary>The zstd stage's two implementations (native libzstd, managed ZstdSharp) and the framed pump that encodes
/// chunks in parallel.</summary>
public sealed class ZstdFramingTests : IDisposable
{
    private const int Chunk = 64 << 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] EncodeChunks(IFramedStage stage, byte[] input, int chunk)
    {
        var output = new FrameBuffer();
        for (var offset = 0; offset < input.Length; offset += chunk)
            FrameEncoding.Encode(stage, input.AsSpan(offset, Math.Min(chunk, input.Length - offset)), output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] DecodeNative(byte[] frames)
    {
        using var decoder = new ZstdNet.DecompressionStream(new MemoryStream(frames));
        using var result = new MemoryStream();
        decoder.CopyTo(result);
        return result.ToArray();
    }

    private static byte[] DecodeManaged(byte[] frames)
    {
        using var decoder = new ZstdSharp.DecompressionStream(new MemoryStream(frames));
        using var result = new MemoryStream();
        decoder.CopyTo(result);
        return result.ToArray();
    }

    [Fact]
    public void NativeLibrary_OnThisPlatform_Loads()
    {
        Assert.True(ZstdLibrary.IsNativeAvailable);
        Assert.True(((ZstdStage)new StageCatalog().Parse("zstd")).IsNative);
    }

    [Fact]
    public void NativeFrames_DecodedByManaged_GiveTheInput()
    {
        var input = TestData.JsonLines(5 * Chunk + 777, seed: 7);

        var frames = EncodeChunks(new ZstdStage(3, native: true), input, Chunk);

        Assert.True(frames.Length < input.Length / 2);
        Assert.Equal(TestData.Sha256(input), TestData.Sha256(DecodeManaged(frames)));
    }

    [Fact]
    public void ManagedFrames_DecodedByNative_GiveTheInput()
    {
        var input = TestData.JsonLines(5 * Chunk + 777, seed: 8);

        var frames = EncodeChunks(new ZstdStage(3, native: false), input, Chunk);

        Assert.True(frames.Length < input.Length / 2);
        Assert.Equal(TestData.Sha256(input), TestData.Sha256(DecodeNative(frames)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FrameWriter_EitherImplementation_DecodesWithTheOther(bool native)
    {
        var input = TestData.JsonLines(3 * Chunk, seed: 9);
        using var frames = new MemoryStream();

        using (var frame = new ZstdStage(5, native).CreateFrameWriter(frames)) frame.Write(input);

        var decoded = native ? DecodeManaged(frames.ToArray()) : DecodeNative(frames.ToArray());
        Assert.Equal(TestData.Sha256(input), TestData.Sha256(decoded));
    }

    [Fact]
    public void NativeFrame_Incompressible_FitsItsBoundAndDecodes()
    {
        var input = TestData.Random(Chunk + 5, seed: 3);

        var frames = EncodeChunks(new ZstdStage(3, native: true), input, input.Length);

        Assert.Equal(TestData.Sha256(input), TestData.Sha256(DecodeManaged(frames)));
    }

    [Fact]
    public async Task Unzstd_TruncatedLastFrame_FailsWithNamedError()
    {
        var frames = EncodeChunks(new ZstdStage(3, native: true), TestData.JsonLines(3 * Chunk, seed: 4), Chunk);
        using var output = new MemoryStream();

        var e = await Assert.ThrowsAsync<Errors.LoadPipeException>(() =>
            new UnzstdStage().RunAsync(new MemoryStream(frames[..^10]), output, new StageContext()));

        Assert.Equal(Errors.ErrorKind.Permanent, e.Kind);
        Assert.Contains("unzstd", e.Message);
    }

    [Theory]
    [InlineData("zstd", true)]
    [InlineData("zstd", false)]
    [InlineData("gzip:1", false)]
    public async Task CopyAsync_FramedInParallel_OutputIsByteIdenticalToSequentialFraming(string spec, bool native)
    {
        var content = TestData.JsonLines(23 * Chunk + 4321, seed: 11);
        var from = _dir.Write("log.jsonl", content);
        var catalog = new StageCatalog();
        if (spec == "zstd") catalog.Register("zstd", _ => new ZstdStage(3, native));
        var expected = EncodeChunks((IFramedStage)catalog.Parse(spec), content, Chunk);

        var summary = await CopyAsync(catalog, from, _dir["out/log.z"], spec);

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(File.ReadAllBytes(_dir["out/log.z"])));
    }

    [Fact]
    public async Task CopyAsync_StageFailsOnAChunk_FailsWithTheStagesErrorAndResumesAfterTheGoodChunks()
    {
        var content = TestData.JsonLines(12 * Chunk, seed: 12);
        var from = _dir.Write("log.jsonl", content);
        var failing = new FailingStage(failOnChunk: 6);
        var catalog = new StageCatalog();
        catalog.Register("zstd", _ => failing);

        var first = await CopyAsync(catalog, from, _dir["out/log.zst"], "zstd");

        Assert.Equal(SessionStatus.Failed, first.Status);
        Assert.Contains(FailingStage.Message, Assert.Single(first.Failures).Error);
        Assert.False(File.Exists(_dir["out/log.zst"]));

        failing.FailOnChunk = null;
        var second = await CopyAsync(catalog, from, _dir["out/log.zst"], "zstd");

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.True(second.BytesResumed > 0);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(DecodeNative(File.ReadAllBytes(_dir["out/log.zst"]))));
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("gzip:1")]
    public async Task CopyAsync_IncompressibleCrashBetweenAFrameAndItsTail_ResumesAtTheLastInputBoundaryWithIdenticalBytes(string spec)
    {
        // Random bytes do not compress: each frame is a little longer than its chunk, so it is written as one whole
        // chunk without an input boundary, then its tail with one. The crash comes after the third frame's first part.
        var content = TestData.Random(12 * Chunk + 4321, seed: 13);
        var stage = (IFramedStage)new StageCatalog().Parse(spec);
        var expected = EncodeChunks(stage, content, Chunk);
        var frames = Enumerable.Range(0, 2).Select(i => EncodeChunks(stage, content.AsSpan(i * Chunk, Chunk).ToArray(), Chunk).Length).ToArray();
        Assert.All(frames, f => Assert.InRange(f, Chunk + 1, 2 * Chunk - 1));
        var local = new LocalStorage();
        var path = _dir.Write("random.bin", content);
        var source = new CountingStorage(local);
        var faulty = new FaultyStorage(local) { CrashAfterWrites = 5 };
        var from = new Location(source, path, path);
        var to = new Location(faulty, _dir["out/random.z"], _dir["out/random.z"]);

        var first = await CopyAsync(from, to, spec);
        faulty.CrashAfterWrites = null;
        var readBefore = source.BytesRead;
        var second = await CopyAsync(from, to, spec);

        Assert.Equal(SessionStatus.Failed, first.Status);
        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(frames[0] + frames[1] + Chunk, second.BytesResumed);
        Assert.Equal(expected.Length - second.BytesResumed, second.BytesSent);
        // The source is read again from the second chunk's end (the last input boundary confirmed), not from zero.
        Assert.Equal(content.Length - 2L * Chunk, source.BytesRead - readBefore);
        Assert.Equal(TestData.Sha256(expected), TestData.Sha256(File.ReadAllBytes(_dir["out/random.z"])));
    }

    private async Task<TransferSummary> CopyAsync(Location from, Location to, params string[] stages)
    {
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var options = new TransferOptions
        {
            ChunkSize = Chunk,
            Stages = stages.ToList(),
            RetryDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        };
        return await new TransferEngine(manifest).CopyAsync(from, to, options);
    }

    private async Task<TransferSummary> CopyAsync(StageCatalog catalog, string from, string to, params string[] stages)
    {
        var local = new LocalStorage();
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var options = new TransferOptions
        {
            ChunkSize = Chunk,
            Stages = stages.ToList(),
            RetryDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        };
        return await new TransferEngine(manifest, catalog).CopyAsync(new Location(local, from, from), new Location(local, to, to), options);
    }

    /// <summary>zstd that throws on the given chunk (counted from the first it sees, whatever the thread).</summary>
    private sealed class FailingStage(int? failOnChunk) : FramedEncoderStage, IChunkEncoder
    {
        public const string Message = "frame encoder broke";
        private readonly ZstdStage _zstd = new();
        private int _chunks;

        public int? FailOnChunk { get; set; } = failOnChunk;

        public override string Spec => "zstd";

        public override Stream CreateFrameWriter(Stream output) => _zstd.CreateFrameWriter(output);

        public void EncodeFrame(ReadOnlySpan<byte> input, System.Buffers.IBufferWriter<byte> output)
        {
            if (Interlocked.Increment(ref _chunks) == FailOnChunk) throw new InvalidOperationException(Message);
            _zstd.EncodeFrame(input, output);
        }
    }
}
