using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;

namespace LoadPipe.Server.Tests.Support;

/// <summary>The ingest API's requests tests make, spelled out once.</summary>
public static class IngestCalls
{
    /// <summary>A PDF's first bytes and then <paramref name="size"/> - 9 random ones: what the sniffer calls application/pdf.</summary>
    public static byte[] Pdf(int size)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        "%PDF-1.7\n"u8.CopyTo(bytes);
        return bytes;
    }

    /// <summary>A multipart form with <paramref name="file"/> as `file` (under <paramref name="filename"/>) and the given
    /// text fields after it. <paramref name="chunked"/> sends the file without a known length (no Content-Length).</summary>
    public static MultipartFormDataContent Form(byte[] file, string filename = "report.pdf", bool chunked = false, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        HttpContent part = chunked ? new StreamContent(new NonSeekableStream(file)) : new ByteArrayContent(file);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        // Set by hand so that a name the client library would refuse or rewrite (../x) reaches the server as sent.
        part.Headers.Add("Content-Disposition", $"form-data; name=\"file\"; filename=\"{filename}\"");
        form.Add(part);
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return form;
    }

    public static async Task<HttpResponseMessage> UploadAsync(HttpClient client, HttpContent form, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/files/upload") { Content = form };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? token = null, string? range = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (range is not null) request.Headers.Range = RangeHeaderValue.Parse(range);
        return await client.SendAsync(request);
    }

    /// <summary>Asserts a 201 and returns its body.</summary>
    public static async Task<UploadedBody> UploadedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"upload answered {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize(body, IngestJson.Default.UploadedBody)!;
    }

    /// <summary>Asserts an error body `{"error": CODE, "message": ...}` with <paramref name="status"/>.</summary>
    public static async Task AssertErrorAsync(HttpResponseMessage response, int status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonSerializer.Deserialize(body, IngestJson.Default.ErrorBody)!;
        Assert.Equal(code, error.Error);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
    }

    public static async Task<IReadOnlyList<FileRecord>> RecordsAsync(RunningServer server)
    {
        var records = await server.Server.Ingest.RecordsAsync(CancellationToken.None);
        var all = new List<FileRecord>();
        await foreach (var r in records.ListAsync()) all.Add(r);
        return all;
    }

    public static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    /// <summary>A stream that cannot tell its length, so that HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
    }
}

/// <summary>A request written byte by byte on a socket, for what HttpClient will not send: a Content-Length that lies.</summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> (the request line and headers, without the blank line) and then
    /// <paramref name="body"/>, as far as the server takes it, and returns the status and body of the answer.</summary>
    public static async Task<(int Status, string Body)> SendAsync(Uri server, string head, byte[] body)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n\r\n"));
        try
        {
            await stream.WriteAsync(body);
        }
        catch (IOException)
        {
            // The server answered and closed before taking it all: the answer is what counts.
        }
        // The server closes the connection after its answer (a refused body, or Connection: close); a generous limit in case it does not.
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync(limit.Token);
        var status = int.Parse(answer.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, split >= 0 ? answer[(split + 4)..] : "");
    }
}
