using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// `lp copy URL FILE` when the download breaks: a dropped or stalled connection, a killed lp, a file that changes
/// under it, a server without ranges. Reads continue with Range and If-Range, and a changed file is never spliced.
/// </summary>
public sealed class HttpResumeTests(FileServer server) : IClassFixture<FileServer>
{
    private const int Size = 16 << 20;

    [Fact]
    public async Task Copy_HttpConnectionDroppedMidBody_ResumesWithRangeAndCopiesIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("dropped.bin", Size, seed: 13);
        server.Inject("dropped.bin", Fault.None, Fault.CutAfter(5 << 20));
        var destination = sandbox.PathOf("out/dropped.bin");

        var run = await CopyAsync(sandbox, "dropped.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Size, run.Summary.BytesSent);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var requests = server.RequestsFor("dropped.bin");
        Assert.Contains(requests, r => r is { Method: "GET", Cut: true });
        var resumed = Assert.Single(requests, r => r.Range is not null);
        Assert.Equal(206, resumed.Status);
        Assert.StartsWith("\"", resumed.IfRange);
        Assert.True(resumed.RangeStart is > 0 and <= 5 << 20, $"resumed at {resumed.Range}");
    }

    [Fact]
    public async Task Copy_HttpSourceWithoutETagDroppedMidBody_ResumesWithLastModifiedIfRange()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("dated.bin", Size, seed: 14, etag: false);
        server.Inject("dated.bin", Fault.None, Fault.CutAfter(3 << 20));
        var destination = sandbox.PathOf("out/dated.bin");

        var run = await CopyAsync(sandbox, "dated.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var resumed = Assert.Single(server.RequestsFor("dated.bin"), r => r.Range is not null);
        Assert.Equal(206, resumed.Status);
        Assert.EndsWith("GMT", resumed.IfRange);
    }

    [Fact]
    public async Task Copy_HttpSourceChangedMidDownload_RestartsAndCopiesNewContentWhole()
    {
        using var sandbox = new Sandbox();
        server.PublishRandom("changing.bin", Size, seed: 15);
        var replacement = new byte[Size];
        new Random(16).NextBytes(replacement);
        server.Inject("changing.bin", Fault.None, Fault.CutAfter(5 << 20, replaceWith: replacement));
        var destination = sandbox.PathOf("out/changing.bin");

        var run = await CopyAsync(sandbox, "changing.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Size, run.Summary.Bytes);
        Assert.Equal(Digest.Sha256(replacement), Digest.Sha256OfFile(destination));
        // The ranged retry named the old ETag; the server sent the new content whole instead of a range of it.
        var stale = Assert.Single(server.RequestsFor("changing.bin"), r => r.IfRange is not null);
        Assert.Equal(200, stale.Status);
    }

    [Fact]
    public async Task Copy_HttpServerIgnoringRangesDroppedMidBody_ReadsAgainSkippingWhatItHas()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("whole.bin", Size, seed: 19, ranges: false);
        server.Inject("whole.bin", Fault.None, Fault.CutAfter(5 << 20));
        var destination = sandbox.PathOf("out/whole.bin");

        var run = await CopyAsync(sandbox, "whole.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Size, run.Summary.BytesSent);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var retried = Assert.Single(server.RequestsFor("whole.bin"), r => r.Range is not null);
        Assert.Equal(200, retried.Status);
    }

    [Fact]
    public async Task Copy_HttpConnectionStalledMidBody_TimesOutAndResumesWithRange()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("stalled.bin", Size, seed: 18);
        server.Inject("stalled.bin", Fault.None, Fault.StallAfter(3 << 20));
        var config = server.WriteRemoteConfig(sandbox.Root, timeout: "2s");
        var destination = sandbox.PathOf("out/stalled.bin");

        await using var lp = sandbox.StartLp("copy", "files:stalled.bin", destination, "--config", config, "--chunk-size", "1M", "--json");
        var run = await lp.WaitAsync(TimeSpan.FromSeconds(60));

        run.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var resumed = server.RequestsFor("stalled.bin").Where(r => r.Range is not null).ToList();
        Assert.NotEmpty(resumed);
        Assert.All(resumed, r => Assert.Equal(206, r.Status));
        Assert.True(resumed[0].RangeStart is > 0 and <= 3 << 20, $"resumed at {resumed[0].Range}");
    }

    [Fact]
    public async Task Copy_HttpSourceKilledMidDownload_NextRunAsksForTheRestOnly()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("slow.bin", Size, seed: 17);
        var destination = sandbox.PathOf("out/slow.bin");
        var partial = Sandbox.PartialOf(destination);
        await using (var lp = sandbox.StartLp("copy", server.UrlOf("slow.bin"), destination, "--chunk-size", "1M", "--bwlimit", "8M", "--json"))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(partial) >= 4 << 20, TimeSpan.FromSeconds(60),
                () => $"{partial} holds {Poll.LengthOf(partial)} bytes (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await lp.KillAsync();
        }
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        Assert.InRange(confirmed, 1, Size - 1);
        var before = server.RequestsFor("slow.bin").Count;

        var run = await CopyAsync(sandbox, "slow.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(confirmed, run.Summary.BytesResumed);
        Assert.Equal(Size - confirmed, run.Summary.BytesSent);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var get = Assert.Single(server.RequestsFor("slow.bin").Skip(before), r => r.Method == "GET");
        Assert.Equal(206, get.Status);
        Assert.Equal(confirmed, get.RangeStart);
    }

    [Fact]
    public async Task Copy_HttpSourceWithOnlyLastModifiedRewrittenAfterKill_RestartsInsteadOfSplicing()
    {
        using var sandbox = new Sandbox();
        server.PublishRandom("undated-change.bin", Size, seed: 18, etag: false);
        var destination = sandbox.PathOf("out/undated-change.bin");
        var partial = Sandbox.PartialOf(destination);
        await using (var lp = sandbox.StartLp("copy", server.UrlOf("undated-change.bin"), destination, "--chunk-size", "1M", "--bwlimit", "8M", "--json"))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(partial) >= 4 << 20, TimeSpan.FromSeconds(60),
                () => $"{partial} holds {Poll.LengthOf(partial)} bytes (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await lp.KillAsync();
        }
        Assert.InRange(await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox), 1, Size - 1);
        // Same size, same Last-Modified, no ETag: nothing the server says tells the change.
        var rewritten = new byte[Size];
        new Random(19).NextBytes(rewritten);
        server.ReplaceKeepingValidators("undated-change.bin", rewritten);

        var run = await CopyAsync(sandbox, "undated-change.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(0, run.Summary.BytesResumed);
        Assert.Equal(Digest.Sha256(rewritten), Digest.Sha256OfFile(destination));
        Assert.Contains(run.StderrLines, l => l.StartsWith("warning: ", StringComparison.Ordinal) && l.Contains("differ", StringComparison.Ordinal));
    }

    private Task<LpResult> CopyAsync(Sandbox sandbox, string name, string destination) =>
        sandbox.LpAsync("copy", server.UrlOf(name), destination, "--chunk-size", "1M", "--json");
}
