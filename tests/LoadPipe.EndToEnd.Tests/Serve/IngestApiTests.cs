using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Serve;

/// <summary>The ingest API of a real `lp serve` process, and `lp files` reading what it recorded from the shared manifest.</summary>
public sealed class IngestApiTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    [Fact]
    public async Task FilesListAndShow_PrintWhatTheUploadApiRecorded()
    {
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var bytes = RandomNumberGenerator.GetBytes(200_000);
        "%PDF-1.7\n"u8.CopyTo(bytes);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        form.Add(file, "file", "report.pdf");
        form.Add(new StringContent("""{"owner":"ivanov"}"""), "metadata");
        using var response = await Http.PostAsync($"http://127.0.0.1:{serve.Port}/api/files/upload", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        var uploaded = JsonDocument.Parse(body).RootElement;
        var id = uploaded.GetProperty("file_id").GetString()!;
        var storedAs = uploaded.GetProperty("storage_filename").GetString()!;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), uploaded.GetProperty("sha256_hash").GetString());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(serve.Uploads, storedAs)));

        var list = (await sandbox.LpAsync("files", "list")).AssertExitCode(0);
        var line = Assert.Single(list.StdoutLines);
        Assert.StartsWith(id, line, StringComparison.Ordinal);
        Assert.EndsWith("report.pdf", line, StringComparison.Ordinal);

        var show = (await sandbox.LpAsync("files", "show", id, "--json")).AssertExitCode(0);
        var record = Assert.Single(show.JsonLines);
        Assert.Equal(storedAs, record.GetProperty("storage_filename").GetString());
        Assert.Equal("application/pdf", record.GetProperty("mime_type").GetString());
        Assert.Equal("ivanov", record.GetProperty("metadata").GetProperty("owner").GetString());

        var missing = (await sandbox.LpAsync("files", "show", Guid.NewGuid().ToString())).AssertExitCode(2);
        Assert.Contains("no file", missing.AssertOneErrorLine(), StringComparison.Ordinal);
        missing.AssertNoStackTrace();
    }

    [Fact]
    public async Task UploadSession_ServerKilledBetweenParts_ContinuesWhereTheManifestSaysAfterARestart()
    {
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var bytes = RandomNumberGenerator.GetBytes(3_000_000);
        "%PDF-1.7\n"u8.CopyTo(bytes);
        var session = Guid.NewGuid().ToString();
        using (var first = await PartAsync(serve.Port, session, bytes, 0, 1_999_999))
            Assert.True(first.StatusCode == HttpStatusCode.Accepted, await first.Content.ReadAsStringAsync());

        await serve.KillAsync();
        await serve.RestartAsync();

        using (var status = await Http.GetAsync($"http://127.0.0.1:{serve.Port}/api/files/upload/session/{session}"))
        {
            var body = JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("in_progress", body.GetProperty("status").GetString());
            Assert.Equal(2_000_000, body.GetProperty("bytes_uploaded").GetInt64());
        }
        using var last = await PartAsync(serve.Port, session, bytes, 2_000_000, bytes.Length - 1);
        var text = await last.Content.ReadAsStringAsync();
        Assert.True(last.StatusCode == HttpStatusCode.Created, text);
        var uploaded = JsonDocument.Parse(text).RootElement;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), uploaded.GetProperty("sha256_hash").GetString());
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(bytes)), uploaded.GetProperty("md5_hash").GetString());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(serve.Uploads, uploaded.GetProperty("storage_filename").GetString()!)));
    }

    private static async Task<HttpResponseMessage> PartAsync(int port, string session, byte[] file, int start, int end)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(file[start..(end + 1)]);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        part.Headers.ContentRange = new ContentRangeHeaderValue(start, end, file.Length);
        form.Add(part, "file", "big.pdf");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/api/files/upload") { Content = form };
        request.Headers.Add("X-Upload-Session-ID", session);
        return await Http.SendAsync(request);
    }
}
