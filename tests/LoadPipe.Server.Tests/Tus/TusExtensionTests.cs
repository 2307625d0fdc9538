using System.Net;
using System.Security.Cryptography;
using LoadPipe.Server.Tests.Support;
using LoadPipe.Server.Tus;
using Microsoft.Extensions.Time.Testing;
using static LoadPipe.Server.Tests.Support.TusCalls;

namespace LoadPipe.Server.Tests.Tus;

/// <summary>checksum, creation-defer-length, termination, concatenation and expiration, over real HTTP.</summary>
public sealed class TusExtensionTests
{
    private static readonly byte[] Body = "0123456789abcdef"u8.ToArray();

    [Theory]
    [InlineData("sha1")]
    [InlineData("md5")]
    [InlineData("sha256")]
    public async Task Patch_MatchingChecksum_IsTaken(string algorithm)
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, Body.Length);
        var digest = algorithm switch { "sha1" => SHA1.HashData(Body), "md5" => MD5.HashData(Body), _ => SHA256.HashData(Body) };
        using var response = await PatchAsync(server.Client, upload, 0, Body, $"{algorithm} {Convert.ToBase64String(digest)}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Body.Length, Offset(response));
    }

    [Theory]
    [InlineData("sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=", 460)]      // a sha1-sized digest of other bytes
    [InlineData("crc32 AAAAAA==", 400)]                          // an algorithm the server lacks
    [InlineData("sha1 not-base64!", 400)]                        // a digest that is not Base64
    [InlineData("sha1 3q2+7w==", 400)]                           // Base64, but not 20 bytes
    [InlineData("sha256 e3b0c44298fc1c149afbf4c8996fb924", 400)] // hex, not Base64 of 32 bytes
    public async Task Patch_BadChecksum_IsRefusedAndTheChunkDiscarded(string header, int status)
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, Body.Length, Metadata(("filename", "checked")));
        using var response = await PatchAsync(server.Client, upload, 0, Body, header);

        await AssertProblemAsync(response, status);
        using var head = await HeadAsync(server.Client, upload);
        Assert.Equal(0, Offset(head));
        Assert.DoesNotContain("checked", server.StoredFiles());
    }

    [Fact]
    public async Task DeferredLength_DeclaredInALaterPatch_Completes()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, null, Metadata(("filename", "streamed")));
        using (var head = await HeadAsync(server.Client, upload))
        {
            Assert.Equal("1", Header(head, TusHeaders.UploadDeferLength));
            Assert.Null(Header(head, TusHeaders.UploadLength));
        }
        (await PatchAsync(server.Client, upload, 0, Body[..7])).Dispose();
        using (var last = await PatchAsync(server.Client, upload, 7, Body[7..], length: Body.Length))
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
        using (var head = await HeadAsync(server.Client, upload))
        {
            Assert.Equal(Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(head, TusHeaders.UploadLength));
            Assert.Null(Header(head, TusHeaders.UploadDeferLength));
        }
        Assert.Equal(Body, await File.ReadAllBytesAsync(Path.Combine(server.Destination, "streamed")));
    }

    [Fact]
    public async Task Delete_OpenUpload_Is204AndThen404()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, 100, Metadata(("filename", "dropped")));
        (await PatchAsync(server.Client, upload, 0, Body)).Dispose();

        using (var delete = await server.Client.SendAsync(RunningServer.Tus(HttpMethod.Delete, upload.PathAndQuery)))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using (var head = await HeadAsync(server.Client, upload))
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        using (var again = await server.Client.SendAsync(RunningServer.Tus(HttpMethod.Delete, upload.PathAndQuery)))
            await AssertProblemAsync(again, 404);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Concatenation_ThreePartials_BecomeOneObjectInTheirOrder()
    {
        await using var server = await RunningServer.StartAsync();
        var parts = new[] { RandomNumberGenerator.GetBytes(70_001), Array.Empty<byte>(), RandomNumberGenerator.GetBytes(3) };
        var urls = new List<Uri>();
        foreach (var part in parts)
        {
            var url = await CreatedAsync(server.Client, part.Length, concat: "partial");
            if (part.Length > 0) (await PatchAsync(server.Client, url, 0, part)).Dispose();
            using var head = await HeadAsync(server.Client, url);
            Assert.Equal("partial", Header(head, TusHeaders.UploadConcat));
            urls.Add(url);
        }
        // Relative and absolute URLs, in the order the object takes them.
        var concat = $"final;{urls[2]} {urls[1].AbsolutePath} {urls[0]}";
        var final = await CreatedAsync(server.Client, null, Metadata(("filename", "joined.bin")), concat);

        using (var head = await HeadAsync(server.Client, final))
        {
            Assert.Equal(concat, Header(head, TusHeaders.UploadConcat));
            Assert.Equal(70_004, Offset(head));
            Assert.Equal("70004", Header(head, TusHeaders.UploadLength));
        }
        using (var patch = await PatchAsync(server.Client, final, 70_004, []))
            await AssertProblemAsync(patch, 403);
        Assert.Equal(parts[2].Concat(parts[1]).Concat(parts[0]).ToArray(), await File.ReadAllBytesAsync(Path.Combine(server.Destination, "joined.bin")));
        // The partials went with the concatenation: their staging objects and their state.
        Assert.Equal(["joined.bin"], server.StoredFiles());
        foreach (var url in urls)
        {
            using var head = await HeadAsync(server.Client, url);
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
    }

    [Fact]
    public async Task Expiration_FinishedPartialNoFinalUsed_IsSweptWithItsStagingObject()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: s => s with { Expiration = TimeSpan.FromHours(1) });
        var partial = await CreatedAsync(server.Client, Body.Length, concat: "partial");
        using (var patch = await PatchAsync(server.Client, partial, 0, Body))
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        Assert.Single(server.StoredFiles());

        time.Advance(TimeSpan.FromHours(2));
        var uploads = await server.Store.UploadsAsync(default);
        await Poll.UntilAsync(async () => await uploads.GetAsync(partial.Segments[^1]) is null, () => "the sweeper did not remove the expired partial upload");
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Concatenation_TwoFinalsOfOnePartialAtOnce_OneIsMadeTheOtherGetsA4xx()
    {
        await using var server = await RunningServer.StartAsync();
        // Large enough that joining it takes a while: the two finals overlap.
        var bytes = RandomNumberGenerator.GetBytes(24 << 20);
        var partial = await CreatedAsync(server.Client, bytes.Length, concat: "partial");
        (await PatchAsync(server.Client, partial, 0, bytes)).Dispose();

        var responses = await Task.WhenAll(
            CreateAsync(server.Client, null, Metadata(("filename", "first.bin")), $"final;{partial}"),
            CreateAsync(server.Client, null, Metadata(("filename", "second.bin")), $"final;{partial}"));
        try
        {
            var made = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            var refused = Assert.Single(responses, r => r != made);
            // 409 while the other final holds the partial, 400 once it removed it; never a server error.
            Assert.Contains((int)refused.StatusCode, new[] { 400, 409 });
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Null(refused.Headers.Location);
            var name = responses[0] == made ? "first.bin" : "second.bin";
            Assert.Equal([name], server.StoredFiles());
            Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.Destination, name))));
        }
        finally
        {
            foreach (var response in responses) response.Dispose();
        }
    }

    [Fact]
    public async Task Concatenation_UnfinishedPartial_Is400AndMakesNothing()
    {
        await using var server = await RunningServer.StartAsync();
        var partial = await CreatedAsync(server.Client, 10, concat: "partial");
        (await PatchAsync(server.Client, partial, 0, new byte[3])).Dispose();

        using var response = await CreateAsync(server.Client, null, Metadata(("filename", "never")), $"final;{partial}");
        await AssertProblemAsync(response, 400);
        Assert.DoesNotContain("never", server.StoredFiles());
    }

    [Fact]
    public async Task Expiration_PastItsTime_AnUploadIsGoneAndSwept()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: s => s with { Expiration = TimeSpan.FromHours(1) });
        var upload = await CreatedAsync(server.Client, 100);
        var kept = await CreatedAsync(server.Client, Body.Length, Metadata(("filename", "finished")));
        (await PatchAsync(server.Client, kept, 0, Body)).Dispose();
        time.Advance(TimeSpan.FromHours(2));

        // Advancing the clock fired the sweeper's timer: it removes the upload through the push entry (no request has
        // touched it, so nothing else could have).
        var uploads = await server.Store.UploadsAsync(default);
        await Poll.UntilAsync(async () => await uploads.GetAsync(upload.Segments[^1]) is null, () => "the sweeper did not remove the expired upload");
        using (var head = await HeadAsync(server.Client, upload))
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        using (var patch = await PatchAsync(server.Client, upload, 0, Body))
            await AssertProblemAsync(patch, 404);
        // A finished upload does not expire.
        Assert.NotNull(await uploads.GetAsync(kept.Segments[^1]));
        Assert.Equal(["finished"], server.StoredFiles());
    }

    [Fact]
    public async Task Expiration_APatch_RenewsTheExpiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: s => s with { Expiration = TimeSpan.FromHours(1) });
        var upload = await CreatedAsync(server.Client, Body.Length, Metadata(("filename", "renewed")));
        time.Advance(TimeSpan.FromMinutes(50));
        var renewed = Rfc9110(time.GetUtcNow() + TimeSpan.FromHours(1));
        using (var first = await PatchAsync(server.Client, upload, 0, Body[..4]))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal(renewed, Header(first, TusHeaders.UploadExpires));
        }

        // 100 minutes after its creation, 50 after its last PATCH: the sweeper's timer fired, and the upload is still there.
        time.Advance(TimeSpan.FromMinutes(50));
        var uploads = await server.Store.UploadsAsync(default);
        Assert.Empty(await uploads.ListExpiredAsync(time.GetUtcNow(), 10).ToListAsync());
        using (var head = await HeadAsync(server.Client, upload))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(renewed, Header(head, TusHeaders.UploadExpires));
        }
        using (var rest = await PatchAsync(server.Client, upload, 4, Body[4..]))
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        Assert.Equal(["renewed"], server.StoredFiles());
    }

    private static string Rfc9110(DateTimeOffset time) => time.ToUniversalTime().ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Expiration_UploadExpiresIsAnRfc9110Date()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { Expiration = TimeSpan.FromHours(2) });
        using var response = await CreateAsync(server.Client, 5);
        var expires = Header(response, TusHeaders.UploadExpires)!;
        var parsed = DateTimeOffset.ParseExact(expires, "R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.EndsWith(" GMT", expires, StringComparison.Ordinal);
        Assert.InRange(parsed - DateTimeOffset.UtcNow, TimeSpan.FromHours(1), TimeSpan.FromHours(3));
    }
}
