using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Tests.Support;
using LoadPipe.Server.Tus;
using static LoadPipe.Server.Tests.Support.TusCalls;

namespace LoadPipe.Server.Tests;

/// <summary>What surrounds the protocol: auth, CORS, health, metrics, rate limits.</summary>
public sealed class ServerEdgeTests
{
    [Fact]
    public async Task Post_WithoutToken_Is401WithAProblemBody()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using var response = await CreateAsync(server.Client, 5);
        await AssertProblemAsync(response, 401);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("1.0.0", Header(response, TusHeaders.Resumable));
    }

    [Fact]
    public async Task Post_TokenSignedWithAnotherSecret_Is401()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using var response = await CreateAsync(server.Client, 5, token: Tokens.Hs256("upload", secret: "another-secret-of-more-than-32-characters"));
        await AssertProblemAsync(response, 401);
    }

    [Fact]
    public async Task Post_ExpiredToken_Is401()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using var response = await CreateAsync(server.Client, 5, token: Tokens.Hs256("upload", expires: DateTime.UtcNow.AddHours(-1)));
        await AssertProblemAsync(response, 401);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("read")]
    [InlineData("uploads download")]
    public async Task Post_TokenWithoutUploadScope_Is403(string? scope)
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using var response = await CreateAsync(server.Client, 5, token: Tokens.Hs256(scope));
        await AssertProblemAsync(response, 403);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Post_TokenWithUploadScope_IsCreated()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using var response = await CreateAsync(server.Client, 5, token: Tokens.Hs256("read upload"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Post_Rs256TokenCheckedWithThePublicKeyFile_IsCreated()
    {
        using var rsa = RSA.Create(2048);
        var keyFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(keyFile, rsa.ExportSubjectPublicKeyInfoPem());
        try
        {
            await using var server = await RunningServer.StartAsync(configure: s => s with { Jwt = new ServerAuthConfig { Rs256PublicKeyFile = keyFile } });
            using (var good = await CreateAsync(server.Client, 5, token: Tokens.Rs256(rsa, "upload")))
                Assert.Equal(HttpStatusCode.Created, good.StatusCode);
            using var other = RSA.Create(2048);
            using var bad = await CreateAsync(server.Client, 5, token: Tokens.Rs256(other, "upload"));
            await AssertProblemAsync(bad, 401);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task OptionsAndHealth_NeedNoToken()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using (var options = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/")))
            Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        using (var live = await server.Client.GetAsync("/health/live"))
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using (var ready = await server.Client.GetAsync("/health/ready"))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using (var metrics = await server.Client.GetAsync("/metrics"))
            await AssertProblemAsync(metrics, 401);
    }

    [Fact]
    public async Task HealthReady_ChecksManifestAndDestination()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await server.Client.GetAsync("/health/ready");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"status":"ready","checks":{"manifest":"ok","destination":"ok"}}""", body);
    }

    [Fact]
    public async Task CorsPreflight_AllowsTheTusHeadersAndMethods()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        using var request = new HttpRequestMessage(HttpMethod.Options, "/files/abc");
        request.Headers.Add("Origin", "https://app.example.org");
        request.Headers.Add("Access-Control-Request-Method", "PATCH");
        request.Headers.Add("Access-Control-Request-Headers", "upload-offset,tus-resumable,content-type,authorization,upload-checksum");
        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        Assert.Contains("PATCH", Header(response, "Access-Control-Allow-Methods")!, StringComparison.Ordinal);
        var allowed = Header(response, "Access-Control-Allow-Headers")!.ToLowerInvariant();
        foreach (var h in new[] { "upload-offset", "tus-resumable", "upload-checksum", "authorization" }) Assert.Contains(h, allowed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cors_ConfiguredOrigin_ExposesTheTusHeadersToItAlone()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { CorsOrigins = ["https://app.example.org"] });
        using var request = RunningServer.Tus(HttpMethod.Post, "/files/");
        request.Headers.Add(TusHeaders.UploadLength, "3");
        request.Headers.Add("Origin", "https://app.example.org");
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("https://app.example.org", Header(response, "Access-Control-Allow-Origin"));
        var exposed = Header(response, "Access-Control-Expose-Headers")!;
        foreach (var h in new[] { "Upload-Offset", "Location", "Upload-Length", "Tus-Version", "Upload-Metadata", "Upload-Expires" })
            Assert.Contains(h, exposed, StringComparison.Ordinal);

        using var other = new HttpRequestMessage(HttpMethod.Options, "/files/");
        other.Headers.Add("Origin", "https://evil.example.org");
        other.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await server.Client.SendAsync(other);
        Assert.Null(Header(refused, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Metrics_ShowUploadsInPrometheusTextFormat()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, 3);
        (await PatchAsync(server.Client, upload, 0, "abc"u8.ToArray())).Dispose();

        using var response = await server.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE lp_uploads_created_total counter", text, StringComparison.Ordinal);
        // The meter is process-wide, and other tests' servers run beside this one: at least this test's counts.
        Assert.True(Value(text, "lp_uploads_created_total") >= 1, text);
        Assert.True(Value(text, "lp_uploads_received_bytes_total") >= 3, text);
        Assert.True(Value(text, "lp_uploads_completed_total") >= 1, text);
        Assert.Contains("lp_uploads_append_duration_seconds_bucket", text, StringComparison.Ordinal);
    }

    private static double Value(string text, string metric)
    {
        var match = System.Text.RegularExpressions.Regex.Match(text, $@"(?m)^{metric}(?:\{{[^}}]*\}})? (\S+)");
        Assert.True(match.Success, $"{metric} is not in:\n{text}");
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task RateLimit_OverTheLimit_Is429WithAProblemBody()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { RequestsPerMinute = 2 });
        for (var i = 0; i < 2; i++)
            using (var ok = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/")))
                Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        using var limited = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));
        await AssertProblemAsync(limited, 429);
        using var health = await server.Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Headers_AboveTheLimit_AreRefused()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { MaxHeaderSize = 4096 });
        using var request = RunningServer.Tus(HttpMethod.Post, "/files/");
        request.Headers.Add(TusHeaders.UploadLength, "3");
        request.Headers.Add(TusHeaders.UploadMetadata, "big " + Convert.ToBase64String(new byte[6000]));
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Patch_BodyTricklingInBelowTheMinimumRate_IsCutOffAndWhatArrivedIsKept()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { MinBodyRate = 100_000 });
        var upload = await CreatedAsync(server.Client, 1000);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Client.BaseAddress!.Host, server.Client.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = $"PATCH {upload.AbsolutePath} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            + "Content-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\nabc";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        // Then nothing more, as a slowloris client does: after the grace period Kestrel answers 408 and closes.
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));

        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
        using var after = await HeadAsync(server.Client, upload);
        Assert.Equal(3, Offset(after));
    }

    [Fact]
    public void Settings_AuthNoneOnAnAddressOthersReach_IsRefused()
    {
        var config = new ServerConfig { Auth = new ServerAuthConfig { None = true }, Uploads = new ServerUploadsConfig { Destination = "/tmp/x/" } };
        var e = Assert.Throws<LoadPipe.Core.Errors.LoadPipeException>(() => ServerSettings.From(config, "0.0.0.0:8080"));
        Assert.Equal(LoadPipe.Core.Errors.ErrorKind.Usage, e.Kind);
        Assert.Contains("not a loopback address", e.Message, StringComparison.Ordinal);
        Assert.Equal(8080, ServerSettings.From(config, "127.0.0.1:8080").Listen.Port);
        Assert.Equal(8080, ServerSettings.From(config, "[::1]:8080").Listen.Port);
    }
}
