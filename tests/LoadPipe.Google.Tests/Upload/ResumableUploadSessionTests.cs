using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Google.Http;
using LoadPipe.Google.Tests.Drive.Support;
using LoadPipe.Google.Upload;
using LoadPipe.Testing.Google.Faults;
using static LoadPipe.Google.Tests.Drive.Support.DriveServer;

namespace LoadPipe.Google.Tests.Upload;

/// <summary>The write-by-write side of a resumable upload (shared by Drive and YouTube) against the protocol server.</summary>
public sealed class ResumableUploadSessionTests(DriveServer server) : IClassFixture<DriveServer>
{
    private const int Granule = ResumableUploadClient.ChunkAlignment;

    private ResumableUploadClient Client() => new(new GoogleApiClient(server.Http, server.Tokens()));

    private async Task<Uri> StartAsync(ResumableUploadClient client, string name, long total) =>
        await client.StartAsync(HttpMethod.Post, new Uri($"{server.Google.DriveUploadUri}/files?uploadType=resumable"),
            JsonSerializer.Serialize(new { name, parents = new[] { server.Google.RootFolderId } }), total, null, "test upload");

    private long Received(string name) => server.Google.Requests.UploadBytesFor(name);

    [Fact]
    public async Task ResumeAsync_ServerHoldsMoreThanConfirmed_TheHeldPartIsNotSentAgain()
    {
        var content = Random(4 * Granule, seed: 1);
        var client = Client();
        var uri = await StartAsync(client, "s1.bin", content.Length);
        var first = new ResumableUploadSession(client, uri, content.Length, "s1");
        await first.WriteAsync(content.AsMemory(0, Granule), final: false);
        await first.WriteAsync(content.AsMemory(Granule, Granule), final: false); // sent, never confirmed: the crash

        var (resumed, why) = await ResumableUploadSession.ResumeAsync(client, uri, content.Length, confirmedLength: Granule, "s1");
        await resumed!.WriteAsync(content.AsMemory(Granule, Granule), final: false);
        await resumed.WriteAsync(content.AsMemory(2 * Granule), final: true);
        var resource = await resumed.CompleteAsync();

        Assert.Equal($"{Granule} bytes confirmed, the server holds {2 * Granule}", why);
        Assert.Equal(content.Length, Received("s1.bin"));
        using var json = JsonDocument.Parse(resource);
        Assert.Equal(content, server.Google.GetContent(json.RootElement.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task ResumeAsync_CompletedByALostAnswer_ComesBackCompleteWithoutSending()
    {
        var content = Random(Granule + 10, seed: 2);
        var client = Client();
        var uri = await StartAsync(client, "s2.bin", content.Length);
        var first = new ResumableUploadSession(client, uri, content.Length, "s2");
        await first.WriteAsync(content.AsMemory(0, Granule), final: false);
        await first.WriteAsync(content.AsMemory(Granule), final: true); // completed; the crash came before the commit was recorded

        var (resumed, _) = await ResumableUploadSession.ResumeAsync(client, uri, content.Length, confirmedLength: Granule, "s2");
        server.Google.Requests.Clear();
        await resumed!.WriteAsync(content.AsMemory(Granule), final: true);

        Assert.NotNull(resumed.CompletedResource);
        Assert.Empty(server.Google.Requests.OfKind(RequestKind.UploadChunk));
        Assert.Equal(content.Length, resumed.Length);
    }

    [Fact]
    public async Task ResumeAsync_ServerHoldsLessThanConfirmed_IsRefused()
    {
        var client = Client();
        var uri = await StartAsync(client, "s3.bin", 2 * Granule);

        var (resumed, why) = await ResumableUploadSession.ResumeAsync(client, uri, 2 * Granule, confirmedLength: Granule, "s3");

        Assert.Null(resumed);
        Assert.Contains("fewer than the", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_SessionExpired_ThrowsResumeMismatchKeepingNoChunk()
    {
        var client = Client();
        var uri = await StartAsync(client, "s4.bin", -1);
        var session = new ResumableUploadSession(client, uri, -1, "s4");
        await session.WriteAsync(Random(Granule), final: false);
        server.Google.ExpireUploadSessions();

        var e = await Assert.ThrowsAsync<ResumeMismatchException>(() => session.WriteAsync(Random(Granule), final: false));

        Assert.Equal(0, e.GoodChunks);
        Assert.DoesNotContain("upload_id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAsync_UnknownTotalOrEmpty_FinishedByAStatusQueryWithTheTotal()
    {
        var client = Client();
        var empty = new ResumableUploadSession(client, await StartAsync(client, "s5.bin", -1), -1, "s5");
        var exact = new ResumableUploadSession(client, await StartAsync(client, "s6.bin", -1), -1, "s6");
        await exact.WriteAsync(Random(Granule), final: false);

        Assert.NotNull(await empty.CompleteAsync());
        Assert.NotNull(await exact.CompleteAsync());
        Assert.Equal(0, server.Google.FindByPath("s5.bin")!.Size);
        Assert.Equal(Granule, server.Google.FindByPath("s6.bin")!.Size);
    }

    [Fact]
    public async Task WriteAsync_MoreBytesThanAnnounced_SourceChangedBeforeTheyAreSent()
    {
        var content = Random(Granule + 10, seed: 7);
        var client = Client();
        var uri = await StartAsync(client, "s7.bin", Granule);
        var upload = new ResumableUploadSession(client, uri, Granule, "s7");
        await upload.WriteAsync(content.AsMemory(0, Granule), final: false);

        var e = await Assert.ThrowsAsync<SourceChangedException>(() => upload.WriteAsync(content.AsMemory(Granule), final: true));

        Assert.Equal($"s7: more bytes ({Granule + 10}) than the {Granule} the source had when the upload started", e.Message);
        Assert.Equal(Granule, Received("s7.bin"));
    }
}
