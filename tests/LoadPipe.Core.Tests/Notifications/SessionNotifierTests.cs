using System.Net;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Notifications;

namespace LoadPipe.Core.Tests.Notifications;

public sealed class SessionNotifierTests
{
    private static readonly SessionRecord Session = new(7, "copy", "/data/rec", "s3:bucket/2026/field-trip", "birds", SessionStatus.Partial,
        DateTimeOffset.FromUnixTimeSeconds(1_790_000_000), DateTimeOffset.FromUnixTimeSeconds(1_790_000_100), 10, 2, 1, 12345, 9999);

    [Fact]
    public void From_RemoteDestination_SplitsBucketAndPrefix()
    {
        var report = SessionReport.From(Session);

        Assert.Equal(("bucket", "2026/field-trip"), (report.DestinationBucket, report.DestinationPrefix));
        Assert.Equal((10, 7, 2, 1), (report.TotalFiles, report.Uploaded, report.Skipped, report.Failed));
        Assert.Equal("birds", report.Project);
    }

    [Theory]
    [InlineData("s3://bucket/2026/field-trip")]
    [InlineData("s3+http://127.0.0.1:9000/bucket/2026/field-trip")]
    public void From_S3RemoteKeyedByWhatItPointsAt_SplitsBucketAndPrefix(string destination)
    {
        var report = SessionReport.From(Session with { Destination = destination });

        Assert.Equal(("bucket", "2026/field-trip"), (report.DestinationBucket, report.DestinationPrefix));
    }

    [Fact]
    public async Task SendAsync_ServerFailsOnceWith503_RetriedAndBodyDelivered()
    {
        using var listener = Listen(out var url);
        var bodies = new List<string>();
        var server = Task.Run(async () =>
        {
            for (var i = 0; i < 2; i++)
            {
                var ctx = await listener.GetContextAsync();
                using var reader = new StreamReader(ctx.Request.InputStream);
                bodies.Add(ctx.Request.HttpMethod + " " + ctx.Request.ContentType + " " + await reader.ReadToEndAsync());
                ctx.Response.StatusCode = i == 0 ? 503 : 200;
                ctx.Response.Close();
            }
        });
        using var client = new HttpClient();

        await new SessionNotifier(client, 3, TimeSpan.FromMilliseconds(1)).SendAsync(url, SessionReport.From(Session));
        await server;

        Assert.Equal(2, bodies.Count);
        Assert.StartsWith("POST application/json", bodies[1]);
        using var json = JsonDocument.Parse(bodies[1][bodies[1].IndexOf('{')..]);
        Assert.Equal("birds", json.RootElement.GetProperty("project").GetString());
        Assert.Equal("bucket", json.RootElement.GetProperty("destination_bucket").GetString());
        Assert.Equal(10, json.RootElement.GetProperty("total_files").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(12345, json.RootElement.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task SendAsync_Body_SentWithContentLengthNotChunked()
    {
        using var listener = Listen(out var url);
        string? transferEncoding = "unread";
        long declared = -2;
        byte[] body = [];
        var server = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            transferEncoding = ctx.Request.Headers["Transfer-Encoding"];
            declared = ctx.Request.ContentLength64;
            using var copy = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(copy);
            body = copy.ToArray();
            ctx.Response.StatusCode = 204;
            ctx.Response.Close();
        });
        using var client = new HttpClient();

        await new SessionNotifier(client, 0, TimeSpan.FromMilliseconds(1)).SendAsync(url, SessionReport.From(Session));
        await server;

        Assert.Null(transferEncoding);
        Assert.Equal(body.Length, declared);
        using var json = JsonDocument.Parse(body);
        // Seed 004's receivers read these names; today's names stay beside them.
        Assert.Equal("bucket", json.RootElement.GetProperty("bucket_name").GetString());
        Assert.Equal("2026/field-trip", json.RootElement.GetProperty("s3_prefix").GetString());
        Assert.Equal(10, json.RootElement.GetProperty("total_files").GetInt32());
        Assert.Equal(7, json.RootElement.GetProperty("files_uploaded").GetInt32());
        Assert.Equal(7, json.RootElement.GetProperty("uploaded").GetInt32());
    }

    [Fact]
    public async Task SendAsync_ServerSays404_FailsWithoutRetry()
    {
        using var listener = Listen(out var url);
        var requests = 0;
        var server = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            Interlocked.Increment(ref requests);
            ctx.Response.StatusCode = 404;
            ctx.Response.Close();
        });
        using var client = new HttpClient();

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => new SessionNotifier(client, 3, TimeSpan.FromMilliseconds(1)).SendAsync(url, SessionReport.From(Session)));
        await server;

        Assert.Equal(ErrorKind.Permanent, e.Kind);
        Assert.Contains("404", e.Message);
        Assert.Equal(1, requests);
    }

    private static HttpListener Listen(out Uri url)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20000, 60000);
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                url = new Uri($"http://127.0.0.1:{port}/hook");
                return listener;
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                listener.Close();
            }
        }
    }
}
