using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using LoadPipe.Server.Tus;

namespace LoadPipe.Server.Tests.Support;

/// <summary>The tus requests tests make, spelled out once.</summary>
public static class TusCalls
{
    public static string Metadata(params (string Key, string Value)[] pairs) =>
        string.Join(',', pairs.Select(p => p.Key + " " + Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Value))));

    public static async Task<HttpResponseMessage> CreateAsync(HttpClient client, long? length, string? metadata = null, string? concat = null, string? token = null)
    {
        using var request = RunningServer.Tus(HttpMethod.Post, "/files/");
        if (length is { } l) request.Headers.Add(TusHeaders.UploadLength, l.ToString(CultureInfo.InvariantCulture));
        else if (concat is null || concat == "partial") request.Headers.Add(TusHeaders.UploadDeferLength, "1");
        if (metadata is not null) request.Headers.Add(TusHeaders.UploadMetadata, metadata);
        if (concat is not null) request.Headers.Add(TusHeaders.UploadConcat, concat);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    /// <summary>Creates an upload and returns its URL (Location), failing the test unless the answer is 201.</summary>
    public static async Task<Uri> CreatedAsync(HttpClient client, long? length, string? metadata = null, string? concat = null)
    {
        using var response = await CreateAsync(client, length, metadata, concat);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"POST answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response.Headers.Location!;
    }

    public static async Task<HttpResponseMessage> PatchAsync(HttpClient client, Uri upload, long offset, byte[] body,
        string? checksum = null, long? length = null, string contentType = TusHeaders.OffsetOctetStream)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = RunningServer.Tus(HttpMethod.Patch, upload.PathAndQuery, content);
        request.Headers.Add(TusHeaders.UploadOffset, offset.ToString(CultureInfo.InvariantCulture));
        if (checksum is not null) request.Headers.Add(TusHeaders.UploadChecksum, checksum);
        if (length is { } l) request.Headers.Add(TusHeaders.UploadLength, l.ToString(CultureInfo.InvariantCulture));
        return await client.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> HeadAsync(HttpClient client, Uri upload)
    {
        using var request = RunningServer.Tus(HttpMethod.Head, upload.PathAndQuery);
        return await client.SendAsync(request);
    }

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(',', values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(',', contentValues)
        : null;

    public static long Offset(HttpResponseMessage response) => long.Parse(Header(response, TusHeaders.UploadOffset)!, CultureInfo.InvariantCulture);

    /// <summary>Asserts a problem body (RFC 9457) with <paramref name="status"/>.</summary>
    public static async Task AssertProblemAsync(HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"\"status\":{status}", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
    }
}
