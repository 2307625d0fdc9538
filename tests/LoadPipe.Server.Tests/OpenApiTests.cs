using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadPipe.Server.Tests.Support;

namespace LoadPipe.Server.Tests;

/// <summary>The OpenAPI document and its reference page: every mapped /api route is in the document, both are behind auth.</summary>
public sealed partial class OpenApiTests
{
    [Fact]
    public async Task Document_NamesEveryMappedApiRouteWithItsMethods()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await server.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("3.1.0", document.RootElement.GetProperty("openapi").GetString());
        var paths = document.RootElement.GetProperty("paths");

        var routes = server.Server.Routes.Where(r => r.Pattern.StartsWith("/api", StringComparison.Ordinal)).ToList();
        Assert.Contains(routes, r => r.Pattern == "/api/files/{id}/transfer");
        var missing = new List<string>();
        foreach (var (pattern, methods) in routes)
        {
            // Route constraints ({id:long}) are not part of an OpenAPI path; a group's own route ends with a slash routing ignores.
            var path = Constraint().Replace(pattern, "}").TrimEnd('/');
            if (!paths.TryGetProperty(path, out var item)) missing.Add(path);
            else missing.AddRange(methods.Where(m => !item.TryGetProperty(m.ToLowerInvariant(), out _)).Select(m => $"{m} {path}"));
        }
        Assert.True(missing.Count == 0, "not in the document: " + string.Join(", ", missing));
    }

    [GeneratedRegex(":[^}]*}")]
    private static partial Regex Constraint();

    [Fact]
    public async Task ReferencePage_RendersTheDocumentsOperations()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await server.Client.GetAsync("/openapi");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<code>/api/files/{id}/transfer</code>", html, StringComparison.Ordinal);
        Assert.Contains("X-Upload-Session-ID", html, StringComparison.Ordinal);
        // Offline: nothing is loaded from another origin.
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DocumentAndPage_NeedAToken()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        foreach (var path in (string[])["/openapi/v1.json", "/openapi"])
        {
            using var anonymous = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Tokens.Hs256("read"));
            using var authorized = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
        }
        using var health = await server.Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
