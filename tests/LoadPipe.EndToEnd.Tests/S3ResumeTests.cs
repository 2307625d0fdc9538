using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// kill -9 in the middle of a multipart upload to S3: the next run continues the same upload from the parts the
/// manifest confirmed and sends only the rest; `lp cleanup` aborts the upload instead, and the next run starts over.
/// </summary>
public sealed class S3ResumeTests
{
    private const int Size = 60 << 20;
    private const int Chunk = 5 << 20;

    [Fact]
    public async Task Copy_KilledMidMultipartUpload_ResumesFromConfirmedParts()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var prefix = S3Remote.NewPrefix("resume");
        var source = sandbox.PathOf("in/big.bin");
        var bytes = Digest.WriteRandomFile(source, Size, seed: 200);

        await using (var lp = sandbox.StartLp("copy", source, S3Remote.Folder(prefix), "--chunk-size", "5M", "--bwlimit", "10M", "--json"))
            await InterruptedUpload.KillAfterPartsAsync(lp, prefix, parts: 3, () => ManifestProbe.ConfirmedBytesAsync(sandbox), 2 * Chunk);
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        Assert.True(confirmed >= 2 * Chunk, $"only {confirmed} bytes confirmed once the server held 3 parts");
        Assert.Single(await S3Remote.UploadsAsync(prefix));

        var run = await sandbox.LpAsync("copy", source, S3Remote.Folder(prefix), "--chunk-size", "5M", "--json");

        run.AssertExitCode(0);
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(Size, summary.Bytes);
        Assert.True(summary.BytesResumed > 0, $"nothing was resumed\n{run}");
        Assert.Equal(confirmed, summary.BytesResumed);
        Assert.True(summary.BytesSent <= Size - summary.BytesResumed + Chunk,
            $"sent {summary.BytesSent} bytes of {Size}, {summary.BytesResumed} of which were resumed\n{run}");
        Assert.Equal(Size, summary.BytesSent + summary.BytesResumed);
        Assert.Empty(await S3Remote.UploadsAsync(prefix));
        var back = await S3Remote.DownloadAsync(sandbox, prefix);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(Path.Combine(back, "big.bin")));
    }

    [Fact]
    public async Task Cleanup_AfterKillMidMultipartUpload_AbortsUploadAndNextCopyStartsFromZero()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var prefix = S3Remote.NewPrefix("cleanup");
        const int size = 30 << 20;
        var source = sandbox.PathOf("in/big.bin");
        var bytes = Digest.WriteRandomFile(source, size, seed: 201);
        await using (var lp = sandbox.StartLp("copy", source, S3Remote.Folder(prefix), "--chunk-size", "5M", "--bwlimit", "10M", "--json"))
            await InterruptedUpload.KillAfterPartsAsync(lp, prefix, parts: 2, () => ManifestProbe.ConfirmedBytesAsync(sandbox), 1);
        var upload = Assert.Single(await S3Remote.UploadsAsync(prefix));
        Assert.Equal($"{prefix}/big.bin", upload.Key);
        var session = (await ManifestProbe.SessionsAsync(sandbox))[0].GetProperty("session").GetInt64();

        var cleanup = await sandbox.LpAsync("cleanup", "--older-than", "0s");

        cleanup.AssertExitCode(0);
        // Named by what the remote points at, as the manifest keys it.
        Assert.Contains($"aborted s3+{S3Remote.Endpoint}/{S3Remote.Bucket}/{prefix}/big.bin", cleanup.StdoutLines);
        Assert.Empty(await S3Remote.UploadsAsync(prefix));
        var transfer = Assert.Single(await ManifestProbe.TransfersAsync(sandbox, session));
        Assert.Equal("failed", transfer.GetProperty("status").GetString());
        Assert.Contains("lp cleanup", transfer.GetProperty("last_error").GetString());

        var run = await sandbox.LpAsync("copy", source, S3Remote.Folder(prefix), "--chunk-size", "5M", "--json");

        run.AssertExitCode(0);
        Assert.Equal("completed", run.Summary.Status);
        Assert.Equal(0, run.Summary.BytesResumed);
        Assert.Equal(size, run.Summary.BytesSent);
        Assert.Empty(await S3Remote.UploadsAsync(prefix));
        var back = await S3Remote.DownloadAsync(sandbox, prefix);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(Path.Combine(back, "big.bin")));
    }
}
