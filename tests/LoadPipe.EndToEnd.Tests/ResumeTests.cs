using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// kill -9 in the middle of a copy, then the same command again: it continues from what the manifest confirmed,
/// sends only the rest, and never splices two different contents together.
/// </summary>
public sealed class ResumeTests(LargeJsonLinesFixture data) : IClassFixture<LargeJsonLinesFixture>
{
    private const int Chunk = 1 << 20;

    [Fact]
    public async Task Copy_KilledMidFile_ResumesFromConfirmedBytes()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/events.jsonl");

        var atKill = await KillWhenPartialReachesAsync(sandbox, destination, 20 << 20,
            "copy", data.File.Path, destination, "--chunk-size", "1M", "--bwlimit", "20M", "--json");
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        Assert.InRange(confirmed, atKill - Chunk, atKill);
        // The killed run could not record its end; `lp status` sees that no process holds the session any more.
        Assert.Equal("interrupted", Assert.Single(await ManifestProbe.SessionsAsync(sandbox)).GetProperty("status").GetString());

        var run = await sandbox.LpAsync("copy", data.File.Path, destination, "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(data.File.Length, summary.Bytes);
        Assert.Equal(confirmed, summary.BytesResumed);
        Assert.True(summary.BytesResumed > 0, $"nothing was resumed\n{run}");
        Assert.True(summary.BytesSent <= data.File.Length - atKill + Chunk,
            $"sent {summary.BytesSent} bytes, but {atKill} of {data.File.Length} were on disk at the kill\n{run}");
        Assert.Equal(data.File.Length, summary.BytesSent + summary.BytesResumed);
        Assert.Equal(data.File.Sha256, Digest.Sha256OfFile(destination));
        Assert.False(File.Exists(Sandbox.PartialOf(destination)));
    }

    [Fact]
    public async Task Copy_KilledMidFileThroughZstd_ResumesWithFramesThatDecodeToSource()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/events.jsonl.zst");

        var atKill = await KillWhenPartialReachesAsync(sandbox, destination, 4 << 20,
            "copy", data.File.Path, destination, "--process", "zstd", "--chunk-size", "1M", "--bwlimit", "20M", "--json");
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        Assert.InRange(confirmed, 1, atKill);

        var run = await sandbox.LpAsync("copy", data.File.Path, destination, "--process", "zstd", "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(confirmed, summary.BytesResumed);
        Assert.Equal(new FileInfo(destination).Length, summary.Bytes);
        Assert.Equal(summary.Bytes, summary.BytesSent + summary.BytesResumed);
        // One 1 MiB input chunk compresses to well under 1 MiB: at most that much was on disk but unconfirmed.
        Assert.True(summary.BytesSent <= summary.Bytes - atKill + Chunk,
            $"sent {summary.BytesSent} of {summary.Bytes} output bytes, but {atKill} were on disk at the kill\n{run}");
        var (sha256, length) = Digest.Sha256OfZstdFile(destination);
        Assert.Equal(data.File.Length, length);
        Assert.Equal(data.File.Sha256, sha256);
    }

    [Fact]
    public async Task Copy_TerminatedMidFile_ExitsWith130AndNextRunResumes()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/events.jsonl");
        var partial = Sandbox.PartialOf(destination);
        LpResult stopped;
        await using (var lp = sandbox.StartLp("copy", data.File.Path, destination, "--chunk-size", "1M", "--bwlimit", "20M", "--json"))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(partial) >= 8 << 20, TimeSpan.FromSeconds(60),
                () => $"{partial} holds {Poll.LengthOf(partial)} bytes (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await lp.TerminateAsync();
            stopped = await lp.WaitAsync();
        }

        stopped.AssertExitCode(130);
        stopped.AssertNoStackTrace();
        Assert.Contains(stopped.StderrLines, l => l.StartsWith("interrupted", StringComparison.Ordinal));
        Assert.DoesNotContain(stopped.StderrLines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.False(File.Exists(destination));
        Assert.Equal("interrupted", (await ManifestProbe.SessionsAsync(sandbox))[0].GetProperty("status").GetString());
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        Assert.True(confirmed >= (8 << 20) - Chunk, $"only {confirmed} bytes confirmed after a clean stop");

        var run = await sandbox.LpAsync("copy", data.File.Path, destination, "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        Assert.Equal(confirmed, run.Summary.BytesResumed);
        Assert.Equal(data.File.Length - confirmed, run.Summary.BytesSent);
        Assert.Equal(data.File.Sha256, Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task Copy_SourceRewrittenAfterKill_RestartsInsteadOfSplicing()
    {
        using var sandbox = new Sandbox();
        const int size = 48 << 20;
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, size, seed: 1);
        var destination = sandbox.PathOf("out/data.bin");

        await KillWhenPartialReachesAsync(sandbox, destination, 8 << 20,
            "copy", source, destination, "--chunk-size", "1M", "--bwlimit", "20M", "--json");
        Assert.True(await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox) > 0);
        var modified = File.GetLastWriteTimeUtc(source);
        var rewritten = Digest.WriteRandomFile(source, size, seed: 2);
        File.SetLastWriteTimeUtc(source, modified.AddMinutes(1));

        var run = await sandbox.LpAsync("copy", source, destination, "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(0, summary.BytesResumed);
        Assert.Equal(size, summary.BytesSent);
        Assert.Equal(Digest.Sha256(rewritten), Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task Copy_SourceRewrittenAtSameSizeWithItsTimePutBackAfterKill_RestartsInsteadOfSplicing()
    {
        using var sandbox = new Sandbox();
        const int size = 48 << 20;
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, size, seed: 4);
        var destination = sandbox.PathOf("out/data.bin");
        var modified = File.GetLastWriteTimeUtc(source);

        await KillWhenPartialReachesAsync(sandbox, destination, 8 << 20,
            "copy", source, destination, "--chunk-size", "1M", "--bwlimit", "20M", "--json");
        Assert.True(await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox) > 0);
        // In place, as `dd conv=notrunc` writes, then the old time put back, as `touch -r` does: size and time as before.
        var rewritten = new byte[size];
        new Random(5).NextBytes(rewritten);
        using (var file = new FileStream(source, FileMode.Open, FileAccess.Write)) file.Write(rewritten);
        File.SetLastWriteTimeUtc(source, modified);

        var run = await sandbox.LpAsync("copy", source, destination, "--chunk-size", "1M", "--json");

        run.AssertExitCode(0);
        Assert.Equal(0, run.Summary.BytesResumed);
        Assert.Equal(size, run.Summary.BytesSent);
        Assert.Equal(Digest.Sha256(rewritten), Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task Copy_FinishedCopyRunAgain_SkipsFileAndSendsNothing()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        var bytes = Digest.WriteRandomFile(source, 3 << 20, seed: 3);
        var destination = sandbox.PathOf("out/data.bin");
        var first = await sandbox.LpAsync("copy", source, destination, "--json");
        first.AssertExitCode(0);
        Assert.Equal(bytes.Length, first.Summary.BytesSent);
        var committed = File.GetLastWriteTimeUtc(destination);

        var again = await sandbox.LpAsync("copy", source, destination, "--json");

        again.AssertExitCode(0);
        var summary = again.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.Equal(1, summary.Files);
        Assert.Equal(1, summary.FilesSkipped);
        Assert.Equal(0, summary.BytesSent);
        Assert.Equal(0, summary.BytesResumed);
        Assert.NotEqual(first.Summary.Session, summary.Session);
        Assert.Equal(committed, File.GetLastWriteTimeUtc(destination));
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(destination));
    }

    /// <summary>Starts lp, kills it (-9) once the partial file beside <paramref name="destination"/> holds at least
    /// <paramref name="threshold"/> bytes, and returns how many bytes it holds after the kill.</summary>
    private static async Task<long> KillWhenPartialReachesAsync(Sandbox sandbox, string destination, long threshold, params string[] args)
    {
        var partial = Sandbox.PartialOf(destination);
        await using var lp = sandbox.StartLp(args);
        await Poll.UntilAsync(() => Poll.LengthOf(partial) >= threshold, TimeSpan.FromSeconds(60),
            () => $"{partial} holds {Poll.LengthOf(partial)} bytes, waiting for {threshold} (lp exited: {lp.HasExited})",
            giveUp: () => lp.HasExited);
        var killed = await lp.KillAsync();
        Assert.True(killed.ExitCode != 0, $"lp finished before it could be killed\n{killed}");
        Assert.False(File.Exists(destination), "a half-written file carries the final name");
        return Poll.LengthOf(partial);
    }
}
