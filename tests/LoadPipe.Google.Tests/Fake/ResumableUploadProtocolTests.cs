using System.Security.Cryptography;
using LoadPipe.Testing.Google;
using static LoadPipe.Google.Tests.Fake.FakeClient;

namespace LoadPipe.Google.Tests.Fake;

public sealed class ResumableUploadProtocolTests
{
    private const int Granule = 256 * 1024;

    [Fact]
    public async Task Put_ChunksThenLast_Answers308WithRangeThen200WithTheFile()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var data = RandomBytes(2 * Granule + 1000, 1);
        var session = await StartDriveUploadAsync(http, google, google.RootFolderId, "a.bin", data.Length);

        using (var status = await StatusQueryAsync(http, session, data.Length.ToString()))
        {
            Assert.Equal(308, (int)status.StatusCode);
            Assert.Null(RangeOf(status)); // nothing stored yet: no Range header
        }
        using (var first = await PutChunkAsync(http, session, data, 0, Granule, data.Length.ToString()))
        {
            Assert.Equal(308, (int)first.StatusCode);
            Assert.Equal("bytes=0-262143", RangeOf(first));
        }
        using (var odd = await PutChunkAsync(http, session, data, Granule, 1000, data.Length.ToString()))
        {
            Assert.Equal(400, (int)odd.StatusCode); // not a multiple of 256 KiB and not the last chunk
        }
        using var last = await PutChunkAsync(http, session, data, Granule, data.Length - Granule, data.Length.ToString());
        Assert.Equal(200, (int)last.StatusCode);
        var file = await JsonAsync(last);
        Assert.Equal(data.Length.ToString(), (string?)file["size"]);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), (string?)file["md5Checksum"]);
        Assert.Equal(data, google.GetContent((string)file["id"]!));
        Assert.Equal((string)file["id"]!, google.FindByPath("a.bin")!.Id);
    }

    [Fact]
    public async Task Put_ConnectionDroppedMidChunk_KeepsWholeGranulesOnly()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var data = RandomBytes(3 * Granule, 2);
        var session = await StartDriveUploadAsync(http, google, google.RootFolderId, "b.bin", data.Length);
        google.Faults.DropConnectionAfter(Granule + 5000);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => PutChunkAsync(http, session, data, 0, 2 * Granule, data.Length.ToString()));

        using var status = await StatusQueryAsync(http, session, data.Length.ToString());
        Assert.Equal(308, (int)status.StatusCode);
        Assert.Equal("bytes=0-262143", RangeOf(status));
        using var rest = await PutChunkAsync(http, session, data, Granule, 2 * Granule, data.Length.ToString());
        Assert.Equal(200, (int)rest.StatusCode);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), (string?)(await JsonAsync(rest))["md5Checksum"]);
        Assert.Equal((Granule + 5000) + (2 * Granule), google.Requests.UploadBytesFor("b.bin"));
    }

    [Fact]
    public async Task Put_TotalUnknownUntilTheLastChunk_Completes()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var data = RandomBytes(Granule + 10, 3);
        var session = await StartDriveUploadAsync(http, google, google.RootFolderId, "c.bin", size: null);

        using (var first = await PutChunkAsync(http, session, data, 0, Granule, "*"))
        {
            Assert.Equal(308, (int)first.StatusCode);
            Assert.Equal("bytes=0-262143", RangeOf(first));
        }
        using (var status = await StatusQueryAsync(http, session, "*"))
        {
            Assert.Equal("bytes=0-262143", RangeOf(status));
        }
        using var last = await PutChunkAsync(http, session, data, Granule, 10, data.Length.ToString());
        Assert.Equal(200, (int)last.StatusCode);
        Assert.Equal(data, google.GetContent((string)(await JsonAsync(last))["id"]!));
    }

    [Fact]
    public async Task Put_ExpiredSession_Answers404()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var session = await StartDriveUploadAsync(http, google, google.RootFolderId, "d.bin", 10);
        google.Faults.ExpireUploadSessions();

        using var status = await StatusQueryAsync(http, session, "10");
        Assert.Equal(404, (int)status.StatusCode);
    }

    [Fact]
    public async Task Patch_NewRevision_ChangesContentAndHeadRevisionId()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var id = google.PutFile(google.RootFolderId, "e.txt", "old"u8.ToArray());
        var before = google.Drive.Get(id)!;

        using var start = new HttpRequestMessage(HttpMethod.Patch, google.DriveUploadUri + $"/files/{id}?uploadType=resumable") { Content = new StringContent("{}") };
        using var started = await http.SendAsync(start);
        Assert.Equal(200, (int)started.StatusCode);
        using var done = await PutChunkAsync(http, started.Headers.Location!, "new content"u8.ToArray(), 0, 11, "11");

        Assert.Equal(200, (int)done.StatusCode);
        var after = google.Drive.Get(id)!;
        Assert.NotEqual(before.HeadRevisionId, after.HeadRevisionId);
        Assert.Equal("new content"u8.ToArray(), google.GetContent(id));
    }
}
