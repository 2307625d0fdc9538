using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>`lp copy URL FILE` against a real HTTP server that answers the way real ones do: busy, rate limited,
/// without HEAD, forbidden, missing.</summary>
public sealed class HttpSourceTests(FileServer server) : IClassFixture<FileServer>
{
    private const int Size = 16 << 20;

    [Fact]
    public async Task Copy_HttpSource_CopiesIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("plain.bin", Size, seed: 10);
        var destination = sandbox.PathOf("out/plain.bin");

        var run = await CopyAsync(sandbox, "plain.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal("completed", run.Summary.Status);
        Assert.Equal(Size, run.Summary.Bytes);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var requests = server.RequestsFor("plain.bin");
        Assert.Equal("HEAD", requests[0].Method);
        Assert.Contains(requests, r => r is { Method: "GET", Status: 200, Range: null });
    }

    [Fact]
    public async Task Copy_HttpSourceAnswering503WithRetryAfter_RetriesAndCopiesIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("busy.bin", Size, seed: 11);
        server.Inject("busy.bin", Fault.Respond(503, retryAfterSeconds: 1), Fault.Respond(503, retryAfterSeconds: 1));
        var destination = sandbox.PathOf("out/busy.bin");

        var run = await CopyAsync(sandbox, "busy.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var statuses = server.RequestsFor("busy.bin").Select(r => r.Status).ToList();
        Assert.Equal([503, 503], statuses.Take(2));
        Assert.Contains(200, statuses.Skip(2));
    }

    [Fact]
    public async Task Copy_HttpSourceAnswering429WithRetryAfter_RetriesAndCopiesIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("limited.bin", Size, seed: 12);
        // The HEAD passes; the first GET is told to slow down.
        server.Inject("limited.bin", Fault.None, Fault.Respond(429, retryAfterSeconds: 1));
        var destination = sandbox.PathOf("out/limited.bin");

        var run = await CopyAsync(sandbox, "limited.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var gets = server.RequestsFor("limited.bin").Where(r => r.Method == "GET").ToList();
        Assert.Equal(429, gets[0].Status);
        Assert.Equal(200, gets[^1].Status);
    }

    [Fact]
    public async Task Copy_HttpServerRejectingHead_LearnsSizeFromRangedGetAndCopies()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("nohead.bin", Size, seed: 23);
        server.Inject("nohead.bin", Fault.Respond(405));
        var destination = sandbox.PathOf("out/nohead.bin");

        var run = await CopyAsync(sandbox, "nohead.bin", destination);

        run.AssertExitCode(0);
        Assert.Equal(Size, run.Summary.Bytes);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var requests = server.RequestsFor("nohead.bin");
        Assert.Equal(("HEAD", 405), (requests[0].Method, requests[0].Status));
        Assert.Equal(("GET", "bytes=0-0", 206), (requests[1].Method, requests[1].Range, requests[1].Status));
    }

    [Fact]
    public async Task Copy_HttpUrlWithSecretInQuery_NeverPrintsTheSecret()
    {
        using var sandbox = new Sandbox();
        server.PublishRandom("signed.bin", Size, seed: 24);
        server.Inject("signed.bin", Fault.Respond(403));
        const string secret = "sig=Zm9vYmFyc2VjcmV0";
        var destination = sandbox.PathOf("out/signed.bin");

        var denied = await sandbox.LpAsync("copy", server.UrlOf("signed.bin") + "?" + secret, destination, "--json");
        var copied = await sandbox.LpAsync("copy", server.UrlOf("signed.bin") + "?" + secret, destination, "--json");
        var status = await sandbox.LpAsync("status", "--json");

        denied.AssertExitCode(1);
        Assert.Contains("403", denied.AssertOneErrorLine());
        copied.AssertExitCode(0);
        status.AssertExitCode(0);
        foreach (var run in new[] { denied, copied, status })
        {
            Assert.DoesNotContain("Zm9vYmFyc2VjcmV0", run.Stdout);
            Assert.DoesNotContain("Zm9vYmFyc2VjcmV0", run.Stderr);
        }
    }

    [Fact]
    public async Task Copy_HttpSourceNotFound_ExitsWith1AndOneErrorLine()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/missing.bin");

        var run = await CopyAsync(sandbox, "missing.bin", destination);

        run.AssertExitCode(1);
        var error = run.AssertOneErrorLine();
        Assert.Contains("missing.bin", error);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(Sandbox.PartialOf(destination)));
    }

    [Fact]
    public async Task Copy_HttpSourceTooSlowToFillABatchWithinTheTimeout_CopiesWithOneRequest()
    {
        // Large reads wait for a batch of bytes (SO_RCVLOWAT); a server this slow fills no batch within the
        // timeout, so each read must still return what has arrived rather than time out.
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("slow.bin", 256 << 10, seed: 16);
        server.Inject("slow.bin", Fault.None, Fault.Trickle(4 << 10, TimeSpan.FromMilliseconds(50)));
        var config = server.WriteRemoteConfig(sandbox.Root, timeout: "2s");
        var destination = sandbox.PathOf("out/slow.bin");

        var run = await sandbox.LpAsync("copy", "files:slow.bin", destination, "--config", config, "--json");

        run.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
        var get = Assert.Single(server.RequestsFor("slow.bin"), r => r.Method == "GET");
        Assert.Equal(200, get.Status);
    }

    [Fact]
    public async Task Copy_HttpRedirectLoop_ExitsWith1SayingTooManyRedirects()
    {
        using var sandbox = new Sandbox();
        server.Redirect("loop.bin", "loop.bin");

        var run = await sandbox.LpAsync("copy", server.UrlOf("loop.bin"), sandbox.PathOf("out/loop.bin"));

        run.AssertExitCode(1);
        Assert.Contains("too many redirects", run.AssertOneErrorLine());
    }

    [Fact]
    public async Task Copy_HttpSourceFailingAfterItsHead_NamesTheUrlOnce()
    {
        using var sandbox = new Sandbox();
        server.PublishRandom("vanishing.bin", 1 << 20, seed: 43);
        // HEAD finds it; the GET that reads it is refused.
        server.Inject("vanishing.bin", Fault.None, Fault.Respond(404));

        var run = await sandbox.LpAsync("copy", server.UrlOf("vanishing.bin"), sandbox.PathOf("out/vanishing.bin"), "--retries", "0");

        run.AssertExitCode(1);
        var error = run.AssertOneErrorLine();
        Assert.Contains("HTTP 404", error);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error, System.Text.RegularExpressions.Regex.Escape(server.UrlOf("vanishing.bin"))));
    }

    private Task<LpResult> CopyAsync(Sandbox sandbox, string name, string destination) =>
        sandbox.LpAsync("copy", server.UrlOf(name), destination, "--chunk-size", "1M", "--json");
}
