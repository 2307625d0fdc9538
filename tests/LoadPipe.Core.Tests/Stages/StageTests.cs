using System.IO.Compression;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Tests.Support;
using ZstdSharp;

namespace LoadPipe.Core.Tests.Stages;

public sealed class StageTests
{
    private static readonly StageCatalog Catalog = new();

    private static async Task<byte[]> RunAsync(string spec, byte[] input, StageContext? context = null)
    {
        using var output = new MemoryStream();
        await Catalog.Parse(spec).RunAsync(new MemoryStream(input), output, context ?? new StageContext());
        return output.ToArray();
    }

    private static byte[] Frames(IFramedStage stage, params byte[][] chunks)
    {
        using var output = new MemoryStream();
        foreach (var chunk in chunks)
            using (var frame = stage.CreateFrameWriter(output)) frame.Write(chunk);
        return output.ToArray();
    }

    [Fact]
    public void ZstdFrames_Concatenated_DecodeToTheWholeInput()
    {
        var a = TestData.JsonLines(100_000, 1);
        var b = TestData.JsonLines(50_000, 2);

        var framed = Frames((IFramedStage)Catalog.Parse("zstd"), a, b);

        using var decoder = new DecompressionStream(new MemoryStream(framed));
        using var result = new MemoryStream();
        decoder.CopyTo(result);
        Assert.Equal([.. a, .. b], result.ToArray());
    }

    [Fact]
    public void GzipMembers_Concatenated_DecodeToTheWholeInput()
    {
        var a = TestData.JsonLines(70_000, 3);
        var b = TestData.JsonLines(30_000, 4);

        var framed = Frames((IFramedStage)Catalog.Parse("gzip:1"), a, b);

        using var decoder = new GZipStream(new MemoryStream(framed), CompressionMode.Decompress);
        using var result = new MemoryStream();
        decoder.CopyTo(result);
        Assert.Equal([.. a, .. b], result.ToArray());
    }

    [Theory]
    [InlineData("zstd", "unzstd")]
    [InlineData("gzip", "gunzip")]
    [InlineData("brotli", "unbrotli")]
    public async Task EncoderThenDecoder_RoundTrip_ReturnsInput(string encoder, string decoder)
    {
        var input = TestData.JsonLines(300_000);

        var encoded = await RunAsync(encoder, input);
        var decoded = await RunAsync(decoder, encoded);

        Assert.True(encoded.Length < input.Length / 2);
        Assert.Equal(input, decoded);
    }

    [Fact]
    public async Task Grep_KeepsMatchingLinesIncludingAnUnterminatedLast()
    {
        var output = await RunAsync("grep:^b", "apple\nbanana\ncherry\nblueberry"u8.ToArray());

        Assert.Equal("banana\nblueberry", System.Text.Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task GrepInverted_DropsMatchingLines()
    {
        var output = await RunAsync("grep-v:an", "apple\nbanana\ncherry\n"u8.ToArray());

        Assert.Equal("apple\ncherry\n", System.Text.Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Unzstd_GarbageInput_FailsWithNamedError()
    {
        var e = await Assert.ThrowsAsync<LoadPipeException>(() => RunAsync("unzstd", TestData.Random(1000)));

        Assert.Equal(ErrorKind.Permanent, e.Kind);
        Assert.Contains("unzstd", e.Message);
    }

    [Fact]
    public async Task Exec_ProgramFails_ReportsExitCodeAndStderr()
    {
        var e = await Assert.ThrowsAsync<LoadPipeException>(() => RunAsync("exec:echo boom >&2; exit 3", [1, 2, 3]));

        Assert.Contains("exited with code 3", e.Message);
        Assert.Contains("boom", e.Message);
    }

    [Fact]
    public async Task HashTap_PassesBytesAndReportsDigest()
    {
        var input = TestData.Random(5000);
        var context = new StageContext();

        var output = await RunAsync("sha256", input, context);

        Assert.Equal(input, output);
        Assert.Equal(TestData.Sha256(input), context.Reports["sha256"]);
    }

    [Theory]
    [InlineData("nope", "unknown stage 'nope'")]
    [InlineData("zstd:99", "level must be")]
    [InlineData("grep", "needs an argument")]
    [InlineData("grep:(", "bad regular expression")]
    [InlineData("unzstd:3", "takes no argument")]
    [InlineData("grep:a | b", "cannot be part of a stage")]
    public void Parse_BadSpec_UsageError(string spec, string message)
    {
        var e = Assert.Throws<LoadPipeException>(() => Catalog.Parse(spec));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Resume_KindsAreAsDocumented()
    {
        Assert.Equal(StageResume.Framed, Catalog.Parse("zstd").Resume);
        Assert.Equal(StageResume.Framed, Catalog.Parse("gzip").Resume);
        Assert.Equal(StageResume.Replay, Catalog.Parse("brotli").Resume);
        Assert.Equal(StageResume.Replay, Catalog.Parse("unzstd").Resume);
        Assert.Equal(StageResume.Replay, Catalog.Parse("grep:x").Resume);
        Assert.Equal(StageResume.Restart, Catalog.Parse("exec:cat").Resume);
    }
}
