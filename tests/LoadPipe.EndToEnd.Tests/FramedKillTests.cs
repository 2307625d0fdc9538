using System.Security.Cryptography;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// kill -9 at seeded random points of a copy through zstd of incompressible bytes, locally and to S3. Each frame is a
/// little longer than its chunk, so a confirmed chunk often ends inside a frame (on S3, whose parts are 5 MiB, almost
/// always). Every rerun must resume from exactly what the manifest confirmed, never start the file again from zero, and
/// end with the bytes of an uninterrupted copy.
/// </summary>
public sealed class FramedKillTests(IncompressibleFixture data) : IClassFixture<IncompressibleFixture>
{
    // Ten points in all: a rerun to S3 regenerates and uploads the most, so it gets fewer.
    private const int LocalKillPoints = 6;
    private const int S3KillPoints = 4;
    private const int MiB = 1 << 20;

    [Fact]
    public async Task Copy_ThroughZstdKilledAtRandomPoints_EveryRerunResumesAndWritesTheUninterruptedBytes()
    {
        var random = new Random(11);
        for (var point = 0; point < LocalKillPoints; point++)
        {
            var at = random.NextInt64(3 * MiB, 11 * MiB);
            using var sandbox = new Sandbox();
            var destination = sandbox.PathOf("out/random.bin.zst");
            var partial = Sandbox.PartialOf(destination);
            await using (var lp = sandbox.StartLp(CopyArgs(destination, "--bwlimit", "8M")))
            {
                await Poll.UntilAsync(() => Poll.LengthOf(partial) >= at, TimeSpan.FromSeconds(60),
                    () => $"{partial} holds {Poll.LengthOf(partial)} bytes, waiting for {at} (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
                await KillAsync(lp);
            }
            var confirmed = await ManifestProbe.ConfirmedBytesAsync(sandbox);

            var run = await sandbox.LpAsync(CopyArgs(destination));

            AssertResumed(run, confirmed, $"kill point {point}, at {at} bytes");
            Assert.Equal(data.Clean.Sha256, Digest.Sha256OfFile(destination));
        }
    }

    [Fact]
    public async Task CopyToS3_ThroughZstdKilledAtRandomPoints_EveryRerunResumesAndWritesTheUninterruptedBytes()
    {
        var random = new Random(12);
        for (var point = 0; point < S3KillPoints; point++)
        {
            var at = random.NextInt64(MiB, 9 * MiB);
            using var sandbox = new Sandbox();
            S3Remote.Configure(sandbox);
            var prefix = S3Remote.NewPrefix("killzstd");
            var key = $"{prefix}/random.bin.zst";
            var destination = $"{S3Remote.Name}:{S3Remote.Bucket}/{key}";
            await using (var lp = sandbox.StartLp(CopyArgs(destination, "--bwlimit", "6M")))
            {
                await Eventually.ValueAsync(async () => lp.HasExited ? -1 : await ManifestProbe.ConfirmedBytesAsync(sandbox), n => n >= at,
                    TimeSpan.FromSeconds(60), n => $"the manifest confirms {n} bytes, waiting for {at} (lp exited: {lp.HasExited})",
                    giveUp: () => lp.HasExited);
                await KillAsync(lp);
            }
            var confirmed = await ManifestProbe.ConfirmedBytesAsync(sandbox);

            var run = await sandbox.LpAsync(CopyArgs(destination));

            AssertResumed(run, confirmed, $"kill point {point}, at {at} bytes");
            Assert.Equal(data.Clean.Sha256, await Sha256OfObjectAsync(key));
            Assert.Empty(await S3Remote.UploadsAsync(prefix));
        }
    }

    private string[] CopyArgs(string destination, params string[] more) =>
        ["copy", data.Path, destination, "--process", "zstd", "--chunk-size", IncompressibleFixture.ChunkSize, "--json", .. more];

    private static async Task KillAsync(LpProcess lp)
    {
        var killed = await lp.KillAsync();
        Assert.True(killed.ExitCode != 0, $"lp finished before it could be killed\n{killed}");
    }

    /// <summary>The rerun kept every byte the manifest confirmed before the kill, sent only the rest, and never
    /// started the file again.</summary>
    private void AssertResumed(LpResult run, long confirmed, string where)
    {
        run.AssertExitCode(0);
        Assert.True(confirmed > 0, $"{where}: nothing was confirmed before the kill");
        Assert.DoesNotContain(run.StderrLines, l => l.Contains("again from zero", StringComparison.Ordinal));
        var summary = run.Summary;
        Assert.Equal("completed", summary.Status);
        Assert.True(summary.BytesResumed == confirmed, $"{where}: resumed {summary.BytesResumed} bytes, {confirmed} were confirmed\n{run}");
        Assert.Equal(data.Clean.Length, summary.Bytes);
        Assert.Equal(summary.Bytes, summary.BytesSent + summary.BytesResumed);
    }

    private static async Task<string> Sha256OfObjectAsync(string key)
    {
        using var response = await S3Remote.Client.GetObjectAsync(S3Remote.Bucket, key);
        await using var body = response.ResponseStream;
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(body));
    }
}
