using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>`lp copy --process ...` over a 110 MiB file: what comes out decodes to exactly what should.</summary>
public sealed class StagePipelineTests(LargeJsonLinesFixture data) : IClassFixture<LargeJsonLinesFixture>
{
    [Fact]
    public async Task Copy_ThroughZstd_OutputDecodesToSource()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/events.jsonl.zst");

        var run = await sandbox.LpAsync("copy", data.File.Path, destination, "--process", "zstd", "--json");

        run.AssertExitCode(0);
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(1, summary.Files);
        Assert.Equal(new FileInfo(destination).Length, summary.Bytes);
        Assert.Equal(summary.Bytes, summary.BytesSent);
        Assert.True(summary.Bytes < data.File.Length / 3, $"zstd output of {summary.Bytes} bytes is not much smaller than the {data.File.Length} read");
        var (sha256, length) = Digest.Sha256OfZstdFile(destination);
        Assert.Equal(data.File.Length, length);
        Assert.Equal(data.File.Sha256, sha256);
        Assert.False(File.Exists(Sandbox.PartialOf(destination)));
    }

    [Fact]
    public async Task Copy_ThroughUnzstdGrepZstd_OutputDecodesToMatchingLines()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/errors.jsonl.zst");

        var run = await sandbox.LpAsync("copy", data.CompressedPath, destination,
            "--process", "unzstd", "--process", "grep:" + JsonLines.ErrorPattern, "--process", "zstd", "--json");

        run.AssertExitCode(0);
        Assert.Equal("completed", run.Summary.Status);
        Assert.Equal(new FileInfo(destination).Length, run.Summary.Bytes);
        var (sha256, length) = Digest.Sha256OfZstdFile(destination);
        Assert.True(data.File.ErrorLines > 1000, "the sample has too few error lines to mean anything");
        Assert.Equal(data.File.ErrorLinesLength, length);
        Assert.Equal(data.File.ErrorLinesSha256, sha256);
    }
}
