using System.Net;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The per-client rate limit under /api answers the API's error body, not the server's problem+json.</summary>
public sealed class ApiRateLimitTests
{
    [Fact]
    public async Task RateLimit_OverTheLimitUnderApi_Is429WithTheApisErrorBody()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { RequestsPerMinute = 2 });
        for (var i = 0; i < 2; i++)
            await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{Guid.NewGuid()}"), 404, IngestErrors.FileNotFound);

        using var limited = await UploadAsync(server.Client, Form(Pdf(1000)));
        Assert.Equal("60", limited.Headers.RetryAfter?.ToString());
        await AssertErrorAsync(limited, 429, IngestErrors.RateLimited);
        Assert.Empty(server.StoredFiles());
        // Outside /api the server's own problem body stays.
        using var tus = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));
        Assert.Equal(HttpStatusCode.TooManyRequests, tus.StatusCode);
        Assert.Equal("application/problem+json", tus.Content.Headers.ContentType?.MediaType);
    }
}
