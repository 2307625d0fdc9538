using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google;
using LoadPipe.Testing.Google.Faults;
using static LoadPipe.Google.Tests.Fake.FakeClient;

namespace LoadPipe.Google.Tests.Fake;

public sealed class DriveApiTests
{
    [Fact]
    public async Task List_QueryWithPaging_ReturnsEveryMatchOnceAcrossPages()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var folder = google.CreateFolder(google.RootFolderId, "raw");
        for (int i = 0; i < 5; i++)
        {
            google.PutFile(folder, $"f{i}.bin", new byte[i]);
        }
        google.Drive.Trash(google.PutFile(folder, "gone.bin", new byte[1]));
        google.PutFile(google.RootFolderId, "elsewhere.bin", new byte[1]);

        var names = new List<string>();
        string? token = null;
        int pages = 0;
        do
        {
            var q = Uri.EscapeDataString($"'{folder}' in parents and trashed = false");
            var url = $"drive/v3/files?q={q}&pageSize=2&fields=nextPageToken,files(id,name,size)" + (token is null ? "" : "&pageToken=" + token);
            var page = (JsonObject)JsonNode.Parse(await http.GetStringAsync(url))!;
            names.AddRange(page["files"]!.AsArray().Select(f => (string)f!["name"]!));
            token = (string?)page["nextPageToken"];
            pages++;
        }
        while (token is not null);

        Assert.Equal(["f0.bin", "f1.bin", "f2.bin", "f3.bin", "f4.bin"], names);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task List_NameWithEscapedQuote_FindsTheFile()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        google.PutFile(google.RootFolderId, "it's.txt", new byte[3]);
        google.CreateFolder(google.RootFolderId, "it's.txt");

        var q = Uri.EscapeDataString(@"name = 'it\'s.txt' and mimeType != 'application/vnd.google-apps.folder' and 'root' in parents");
        var page = (JsonObject)JsonNode.Parse(await http.GetStringAsync($"drive/v3/files?q={q}"))!;

        var file = Assert.Single(page["files"]!.AsArray());
        Assert.Equal("3", (string?)file!["size"]);
    }

    [Fact]
    public async Task Get_MediaWithRange_Answers206ThenPastTheEnd416()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.DriveReadOnly);
        var data = RandomBytes(1000, 7);
        var id = google.PutFile(google.RootFolderId, "r.bin", data);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"drive/v3/files/{id}?alt=media");
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        using var partial = await http.SendAsync(ranged);
        Assert.Equal(206, (int)partial.StatusCode);
        Assert.Equal("bytes 100-199/1000", partial.Content.Headers.ContentRange!.ToString());
        Assert.Equal(data[100..200], await partial.Content.ReadAsByteArrayAsync());

        using var past = new HttpRequestMessage(HttpMethod.Get, $"drive/v3/files/{id}?alt=media");
        past.Headers.Range = new RangeHeaderValue(1000, null);
        using var unsatisfiable = await http.SendAsync(past);
        Assert.Equal(416, (int)unsatisfiable.StatusCode);
    }

    [Fact]
    public async Task Get_DownloadDroppedThenResumedByRange_SendsOnlyTheRest()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var data = RandomBytes(1_000_000, 8);
        var id = google.PutFile(google.RootFolderId, "big.bin", data);
        google.Faults.DropDownloadAfter(300_000);

        var received = new MemoryStream();
        using (var first = await http.GetAsync($"drive/v3/files/{id}?alt=media", HttpCompletionOption.ResponseHeadersRead))
        {
            var body = await first.Content.ReadAsStreamAsync();
            await Assert.ThrowsAnyAsync<IOException>(() => body.CopyToAsync(received));
        }
        long kept = received.Length; // at most 300,000: bytes in flight when the connection broke are lost
        using var rest = new HttpRequestMessage(HttpMethod.Get, $"drive/v3/files/{id}?alt=media");
        rest.Headers.Range = new RangeHeaderValue(kept, null);
        using var resumed = await http.SendAsync(rest);
        await (await resumed.Content.ReadAsStreamAsync()).CopyToAsync(received);

        Assert.Equal(data, received.ToArray());
        var downloads = google.Requests.OfKind(RequestKind.DriveDownload);
        Assert.Equal([300_000L, data.Length - kept], downloads.Select(r => r.BytesSent));
        Assert.True(downloads[0].Aborted);
    }

    [Fact]
    public async Task Get_ExpiredTokenOrMissingScope_Answers401Or403()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var youtubeOnly = For(google, GoogleScopes.YouTubeUpload);
        using var drive = For(google, GoogleScopes.Drive);

        using var wrongScope = await youtubeOnly.GetAsync("drive/v3/files");
        Assert.Equal(403, (int)wrongScope.StatusCode);
        Assert.Equal("insufficientPermissions", (string?)(await JsonAsync(wrongScope))["error"]!["errors"]![0]!["reason"]);

        google.ExpireAllTokens();
        using var expired = await drive.GetAsync("drive/v3/files");
        Assert.Equal(401, (int)expired.StatusCode);
        Assert.Equal("authError", (string?)(await JsonAsync(expired))["error"]!["errors"]![0]!["reason"]);
    }

    [Fact]
    public async Task List_RateLimitFault_Answers429WithRetryAfterOnce()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        google.Faults.TooManyRequests(RequestKind.DriveList, TimeSpan.FromSeconds(3));

        using var limited = await http.GetAsync("drive/v3/files");
        using var next = await http.GetAsync("drive/v3/files");

        Assert.Equal(429, (int)limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), limited.Headers.RetryAfter!.Delta);
        Assert.Equal(200, (int)next.StatusCode);
    }

    [Fact]
    public async Task Create_Folder_IsListedAsAFolderUnderItsParent()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        using var http = For(google, GoogleScopes.Drive);
        var body = new JsonObject { ["name"] = "clean", ["mimeType"] = "application/vnd.google-apps.folder", ["parents"] = new JsonArray(google.RootFolderId) };

        using var created = await http.PostAsync("drive/v3/files", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(200, (int)created.StatusCode);
        var folder = google.FindByPath("clean");
        Assert.NotNull(folder);
        Assert.True(folder.IsFolder);
        Assert.Equal((string?)(await JsonAsync(created))["id"], folder.Id);
    }
}
