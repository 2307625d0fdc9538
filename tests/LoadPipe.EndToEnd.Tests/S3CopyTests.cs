using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// `lp copy` of folders to an S3 server (s3rver, see <see cref="S3Remote"/>): small objects sent whole and large ones
/// in parts, read back byte for byte, and the session `lp sessions` reports for the run.
/// </summary>
public sealed class S3CopyTests
{
    [Fact]
    public async Task Copy_FolderOfSmallAndMultipartFiles_EveryObjectReadsBackAndSessionCountsThem()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var prefix = S3Remote.NewPrefix("birds");
        var source = Path.Combine(sandbox.Root, "in");
        FileTree.Write(source, [.. FileTree.Small(60, 48 << 10, seed: 100), ("big/a.bin", 12 << 20), ("big/b.bin", (12 << 20) + 12345)], seed: 100);
        var total = FileTree.TotalLength(source);

        var run = await sandbox.LpAsync("copy", source, S3Remote.Folder(prefix), "--project", "birds", "--transfers", "8", "--chunk-size", "5M", "--json");

        run.AssertExitCode(0);
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(62, summary.Files);
        Assert.Equal(0, summary.FilesFailed);
        Assert.Equal(total, summary.Bytes);
        Assert.Equal(total, summary.BytesSent);

        var sessions = (await sandbox.LpAsync("sessions", "--project", "birds", "--json")).AssertExitCode(0).JsonLines;
        var session = Assert.Single(sessions);
        Assert.Equal(summary.Session, session.GetProperty("session").GetInt64());
        Assert.Equal("birds", session.GetProperty("project").GetString());
        Assert.Equal("completed", session.GetProperty("status").GetString());
        Assert.Equal(62, session.GetProperty("total_files").GetInt32());
        Assert.Equal(62, session.GetProperty("uploaded").GetInt32());
        Assert.Equal(0, session.GetProperty("skipped").GetInt32());
        Assert.Equal(0, session.GetProperty("failed").GetInt32());
        Assert.Equal(total, session.GetProperty("bytes").GetInt64());
        Assert.Equal(S3Remote.Bucket, session.GetProperty("destination_bucket").GetString());
        Assert.Equal(prefix, session.GetProperty("destination_prefix").GetString()!.TrimEnd('/'));
        Assert.Empty((await sandbox.LpAsync("sessions", "--project", "fish", "--json")).AssertExitCode(0).JsonLines);

        var back = await S3Remote.DownloadAsync(sandbox, prefix);
        Assert.Equal(FileTree.Digests(source), FileTree.Digests(back));
        Assert.Empty(await S3Remote.UploadsAsync(prefix));
    }
}
