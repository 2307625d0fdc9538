using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google;
using static LoadPipe.Google.Tests.Fake.FakeClient;

namespace LoadPipe.Google.Tests.Fake;

public sealed class YouTubeApiTests
{
    [Fact]
    public async Task Insert_ResumableThenList_ReturnsTheVideoUntilItIsDeleted()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.YouTubeUpload, GoogleScopes.YouTubeReadOnly);
        var data = RandomBytes(300_000, 11);
        var metadata = new JsonObject
        {
            ["snippet"] = new JsonObject { ["title"] = "Talk", ["description"] = "d", ["tags"] = new JsonArray("a", "b"), ["categoryId"] = "28" },
            ["status"] = new JsonObject { ["privacyStatus"] = "unlisted" },
        };
        using var start = new HttpRequestMessage(HttpMethod.Post, google.YouTubeUploadUri + "/videos?uploadType=resumable&part=snippet,status")
        {
            Content = new StringContent(metadata.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        start.Headers.Add("X-Upload-Content-Length", data.Length.ToString());
        using var started = await http.SendAsync(start);
        Assert.Equal(200, (int)started.StatusCode);

        using var done = await PutChunkAsync(http, started.Headers.Location!, data, 0, data.Length, data.Length.ToString());
        Assert.Equal(200, (int)done.StatusCode);
        var video = await JsonAsync(done);
        var id = (string)video["id"]!;
        Assert.Equal("youtube#video", (string?)video["kind"]);
        var stored = Assert.Single(google.YouTube.Videos);
        Assert.Equal(("Talk", "28", "unlisted", Convert.ToHexStringLower(MD5.HashData(data))), (stored.Title, stored.CategoryId, stored.PrivacyStatus, stored.Md5));

        var listed = (JsonObject)JsonNode.Parse(await http.GetStringAsync($"youtube/v3/videos?part=id&id={id},missing0000"))!;
        Assert.Equal(id, (string?)Assert.Single(listed["items"]!.AsArray())!["id"]);
        google.YouTube.DeleteVideo(id);
        listed = (JsonObject)JsonNode.Parse(await http.GetStringAsync($"youtube/v3/videos?part=id&id={id}"))!;
        Assert.Empty(listed["items"]!.AsArray());
    }

    [Fact]
    public async Task Insert_QuotaExceeded_Answers403QuotaExceeded()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.YouTubeUpload);
        google.YouTube.QuotaExceeded = true;

        using var refused = await http.PostAsync(google.YouTubeUploadUri + "/videos?uploadType=resumable&part=snippet,status",
            new StringContent("""{"snippet":{"title":"x"}}""", Encoding.UTF8, "application/json"));

        Assert.Equal(403, (int)refused.StatusCode);
        Assert.Equal("quotaExceeded", (string?)(await JsonAsync(refused))["error"]!["errors"]![0]!["reason"]);
    }
}
