using System.Text.Json;
using LoadPipe.Google.Http;
using LoadPipe.Google.Tests.Drive.Support;
using LoadPipe.Google.Upload;
using LoadPipe.Testing.Google;
using static LoadPipe.Google.Tests.Drive.Support.DriveServer;

namespace LoadPipe.Google.Tests.Upload;

/// <summary>The resumable upload protocol client, spoken directly to the protocol server's Drive upload endpoint.</summary>
public sealed class ResumableUploadClientTests(DriveServer server) : IClassFixture<DriveServer>
{
    private const int Granule = ResumableUploadClient.ChunkAlignment;

    private ResumableUploadClient Client() => new(new GoogleApiClient(server.Http, server.Tokens()));

    private async Task<Uri> StartAsync(ResumableUploadClient client, string name, long total) =>
        await client.StartAsync(HttpMethod.Post, new Uri($"{server.Google.DriveUploadUri}/files?uploadType=resumable"),
            JsonSerializer.Serialize(new { name, parents = new[] { server.Google.RootFolderId } }), total, "application/octet-stream", "test upload");

    [Fact]
    public async Task PutAsync_ChunksThenLast_308RangesThenTheFileResource()
    {
        var content = Random(2 * Granule + 1000);
        var client = Client();
        var session = await StartAsync(client, "u1.bin", content.Length);

        var fresh = await client.QueryAsync(session, content.Length, "status");
        var first = await client.PutAsync(session, 0, content.AsMemory(0, Granule), content.Length, "chunk");
        var second = await client.PutAsync(session, Granule, content.AsMemory(Granule, Granule), content.Length, "chunk");
        var last = await client.PutAsync(session, 2 * Granule, content.AsMemory(2 * Granule), content.Length, "chunk");

        Assert.Equal(new UploadStatus(UploadState.Incomplete, 0), fresh); // no Range header: nothing stored
        Assert.Equal(new UploadStatus(UploadState.Incomplete, Granule), first);
        Assert.Equal(2 * Granule, second.Stored);
        Assert.Equal(UploadState.Complete, last.State);
        using var resource = JsonDocument.Parse(last.Resource!);
        Assert.Equal(content, server.Google.GetContent(resource.RootElement.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task PutAsync_UnknownTotalThenStatusWithTotal_Completes()
    {
        var content = Random(Granule, seed: 2);
        var client = Client();
        var session = await StartAsync(client, "u2.bin", -1);

        var chunk = await client.PutAsync(session, 0, content, total: -1, "chunk");
        var open = await client.QueryAsync(session, -1, "status");
        var done = await client.QueryAsync(session, content.Length, "status");

        Assert.Equal(Granule, chunk.Stored);
        Assert.Equal(new UploadStatus(UploadState.Incomplete, Granule), open);
        Assert.Equal(UploadState.Complete, done.State);
    }

    [Fact]
    public async Task QueryAsync_ExpiredSession_IsSessionGone()
    {
        var client = Client();
        var session = await StartAsync(client, "u3.bin", 10);
        server.Google.ExpireUploadSessions();

        Assert.Equal(UploadState.SessionGone, (await client.QueryAsync(session, 10, "status")).State);
        Assert.Equal(UploadState.SessionGone, (await client.PutAsync(session, 0, new byte[10], 10, "chunk")).State);
    }

    [Fact]
    public async Task PutAsync_ServerError_ThrowsTransientWithoutTheSessionUri()
    {
        var client = Client();
        var session = await StartAsync(client, "u4.bin", Granule);
        server.Google.Faults.TooManyRequests(Testing.Google.Faults.RequestKind.UploadChunk, TimeSpan.FromSeconds(7));

        var e = await Assert.ThrowsAsync<GoogleApiException>(() => client.PutAsync(session, 0, new byte[Granule], Granule, "drive:x.bin: upload"));

        Assert.Equal(Core.Errors.ErrorKind.Transient, e.Kind);
        Assert.Equal(TimeSpan.FromSeconds(7), e.RetryAfter);
        Assert.DoesNotContain("upload_id", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("drive:x.bin: upload: HTTP 429", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_TokenRefusedTwice_IsAnAuthError()
    {
        var tokens = new FixedTokenSource("not-a-token");

        var e = await Assert.ThrowsAsync<Core.Errors.LoadPipeException>(() =>
            StartAsync(new ResumableUploadClient(new GoogleApiClient(server.Http, tokens)), "u5.bin", 1));

        Assert.Equal(Core.Errors.ErrorKind.Auth, e.Kind);
        Assert.DoesNotContain("not-a-token", e.Message, StringComparison.Ordinal);
    }
}
