using System.Globalization;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// `lp retry` after a real outage: the test's own S3 server is killed (-9) in the middle of a copy, so the files not
/// yet stored fail; once it is back on the same port over the same data, `lp retry SESSION --auto` copies them within
/// the same session.
/// </summary>
public sealed class S3RetryTests
{
    [Fact]
    public async Task Retry_AfterServerKilledMidCopy_CopiesTheFailedFilesIntoTheSameSession()
    {
        using var sandbox = new Sandbox();
        await using var server = await S3rverProcess.StartAsync(sandbox.PathOf("s3/data"));
        S3Remote.Configure(sandbox, server.Endpoint);
        const string prefix = "outage";
        var source = Path.Combine(sandbox.Root, "in");
        FileTree.Write(source, Enumerable.Range(0, 24).Select(i => ($"f{i:00}.bin", 512 << 10)), seed: 400);

        // --retries 0: a file fails at its first refused connection (after the SDK's own two tries), so the files
        // left fail within seconds. --bwlimit 2M stretches the 12 MiB over ~6 s, so the copy is still far from done
        // when the server dies after its third object (unlimited, a quiet machine finished it in 0.7 s, before the kill).
        LpResult first;
        await using (var lp = sandbox.StartLp("copy", source, S3Remote.Folder(prefix), "--transfers", "4", "--retries", "0", "--bwlimit", "2M", "--json"))
        {
            await Poll.UntilAsync(() => server.CountLogLines("Stored object") >= 3, TimeSpan.FromSeconds(60),
                () => $"the server stored {server.CountLogLines("Stored object")} objects (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await server.KillAsync();
            first = await lp.WaitAsync();
        }
        first.AssertExitCode(3).AssertNoStackTrace();
        var failed = first.Summary.FilesFailed;
        Assert.InRange(failed, 1, 21);
        var session = first.Summary.Session;
        Assert.Equal(failed, Session(await sandbox.LpAsync("sessions", "--json"), session).GetProperty("failed").GetInt32());

        await server.StartAsync();
        var retry = await sandbox.LpAsync("retry", session.ToString(CultureInfo.InvariantCulture), "--auto", "--max-rounds", "3", "--round-delay", "0", "--json");

        retry.AssertExitCode(0);
        Assert.Equal(failed, retry.JsonLines.Sum(l => l.GetProperty("files").GetInt32()));
        var after = Session(await sandbox.LpAsync("sessions", "--json"), session);
        Assert.Equal("completed", after.GetProperty("status").GetString());
        Assert.Equal(24, after.GetProperty("total_files").GetInt32());
        Assert.Equal(24, after.GetProperty("uploaded").GetInt32());
        Assert.Equal(0, after.GetProperty("failed").GetInt32());
        var back = await S3Remote.DownloadAsync(sandbox, prefix);
        Assert.Equal(FileTree.Digests(source), FileTree.Digests(back));
    }

    [Fact]
    public async Task Retry_FileThatFailedBeforeItsFirstWrite_IsCopiedOnceTheServerIsBack()
    {
        using var sandbox = new Sandbox();
        await using var server = new S3rverProcess(sandbox.PathOf("s3/data"));
        S3Remote.Configure(sandbox, server.Endpoint);
        var source = sandbox.PathOf("in/data.bin");
        var bytes = Digest.WriteRandomFile(source, 100_000, seed: 401);

        // The server is not started yet: a single file's destination is looked at (HEAD) before anything is written.
        var first = await sandbox.LpAsync("copy", source, S3Remote.Folder("down"), "--retries", "0", "--json");
        first.AssertExitCode(1);
        Assert.Equal(1, first.Summary.FilesFailed);

        await server.StartAsync();
        var retry = await sandbox.LpAsync("retry", first.Summary.Session.ToString(CultureInfo.InvariantCulture), "--auto", "--max-rounds", "2", "--round-delay", "0");

        retry.AssertExitCode(0);
        Assert.Equal(0, Session(await sandbox.LpAsync("sessions", "--json"), first.Summary.Session).GetProperty("failed").GetInt32());
        var back = await S3Remote.DownloadAsync(sandbox, "down");
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(Path.Combine(back, "data.bin")));
    }

    private static JsonElement Session(LpResult sessions, long id) =>
        sessions.AssertExitCode(0).JsonLines.Single(s => s.GetProperty("session").GetInt64() == id);
}
