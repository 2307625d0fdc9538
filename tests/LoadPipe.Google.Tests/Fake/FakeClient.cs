using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google;

namespace LoadPipe.Google.Tests.Fake;

/// <summary>Plain HttpClient calls against the fake, the way an adapter makes them (for the fake's own tests).</summary>
internal static class FakeClient
{
    public static HttpClient For(GoogleProtocolServer server, params string[] scopes)
    {
        var http = new HttpClient { BaseAddress = server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.IssueToken(scopes).AccessToken);
        return http;
    }

    public static async Task<Uri> StartDriveUploadAsync(HttpClient http, GoogleProtocolServer server, string parentId, string name, long? size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, server.DriveUploadUri + "/files?uploadType=resumable")
        {
            Content = new StringContent(new JsonObject { ["name"] = name, ["parents"] = new JsonArray(parentId) }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (size is { } s)
        {
            request.Headers.Add("X-Upload-Content-Length", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        request.Headers.Add("X-Upload-Content-Type", "application/octet-stream");
        using var response = await http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        return response.Headers.Location!;
    }

    public static Task<HttpResponseMessage> PutChunkAsync(HttpClient http, Uri session, byte[] data, long first, int count, string total)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent(data, (int)first, count) };
        request.Content.Headers.ContentRange = null;
        request.Content.Headers.TryAddWithoutValidation("Content-Range", $"bytes {first}-{first + count - 1}/{total}");
        return http.SendAsync(request);
    }

    public static Task<HttpResponseMessage> StatusQueryAsync(HttpClient http, Uri session, string total)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", $"bytes */{total}");
        return http.SendAsync(request);
    }

    public static string? RangeOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Range", out var values) ? values.Single() : null;

    public static async Task<JsonObject> JsonAsync(HttpResponseMessage response) =>
        (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
