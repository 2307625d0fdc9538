using System.Text;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google;
using static LoadPipe.Google.Tests.Fake.FakeClient;

namespace LoadPipe.Google.Tests.Fake;

public sealed class ExpiryAndConsentTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task AccessToken_PastItsLifetime_Answers401ThenRefreshWorks()
    {
        var clock = new ManualClock();
        await using var google = await GoogleProtocolServer.StartAsync(new GoogleServerOptions { TimeProvider = clock, AccessTokenLifetime = TimeSpan.FromMinutes(5) });
        var issued = google.IssueToken(GoogleScopes.Drive);
        using var http = new HttpClient { BaseAddress = google.BaseUri };
        http.DefaultRequestHeaders.Authorization = new("Bearer", issued.AccessToken);

        using (var fresh = await http.GetAsync("drive/v3/files"))
        {
            Assert.Equal(200, (int)fresh.StatusCode);
        }
        clock.Now += TimeSpan.FromMinutes(6);
        using (var stale = await http.GetAsync("drive/v3/files"))
        {
            Assert.Equal(401, (int)stale.StatusCode);
        }
        using var refreshed = await http.PostAsync(google.TokenUri, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = issued.RefreshToken!,
            ["client_id"] = GoogleProtocolServer.DefaultClientId,
            ["client_secret"] = GoogleProtocolServer.DefaultClientSecret,
        }));
        var token = (string)JsonNode.Parse(await refreshed.Content.ReadAsStringAsync())!["access_token"]!;
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var again = await http.GetAsync("drive/v3/files");
        Assert.Equal(200, (int)again.StatusCode);
    }

    [Fact]
    public async Task UploadSession_PastItsLifetime_Answers404()
    {
        var clock = new ManualClock();
        await using var google = await GoogleProtocolServer.StartAsync(new GoogleServerOptions { TimeProvider = clock, AccessTokenLifetime = TimeSpan.FromDays(30) });
        using var http = For(google, GoogleScopes.Drive);
        var session = await StartDriveUploadAsync(http, google, google.RootFolderId, "late.bin", 10);

        clock.Now += TimeSpan.FromDays(8);
        using var status = await StatusQueryAsync(http, session, "10");

        Assert.Equal(404, (int)status.StatusCode);
    }

    [Fact]
    public async Task Auth_UserGrantsLessThanAsked_TokenLacksTheScopeAndDriveAnswers403()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        google.AddClient("desktop", "s3cret");
        google.OAuth.GrantScopes = asked => asked.Where(s => s != GoogleScopes.Drive).ToList();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = google.BaseUri };
        const string redirect = "http://127.0.0.1:45679/cb";
        var scopes = Uri.EscapeDataString($"{GoogleScopes.Drive} {GoogleScopes.YouTubeUpload}");

        using var consent = await http.GetAsync($"auth?client_id=desktop&redirect_uri={Uri.EscapeDataString(redirect)}&response_type=code&scope={scopes}&state=s");
        var code = System.Web.HttpUtility.ParseQueryString(consent.Headers.Location!.Query)["code"]!;
        using var granted = await http.PostAsync("token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = redirect, ["client_id"] = "desktop", ["client_secret"] = "s3cret",
        }));
        var tokens = JsonNode.Parse(await granted.Content.ReadAsStringAsync())!;
        Assert.Equal(GoogleScopes.YouTubeUpload, (string?)tokens["scope"]);
        Assert.Null(tokens["refresh_token"]); // no access_type=offline

        http.DefaultRequestHeaders.Authorization = new("Bearer", (string)tokens["access_token"]!);
        using var listed = await http.GetAsync("drive/v3/files");
        Assert.Equal(403, (int)listed.StatusCode);
    }

    [Fact]
    public async Task Auth_ConsentDenied_RedirectsWithAccessDenied()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        google.AddClient("desktop", "s3cret");
        google.OAuth.DenyConsent = true;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = google.BaseUri };

        using var consent = await http.GetAsync($"auth?client_id=desktop&redirect_uri={Uri.EscapeDataString("http://localhost:5000/")}&response_type=code&scope={Uri.EscapeDataString(GoogleScopes.Drive)}&state=xyz");

        Assert.Equal(302, (int)consent.StatusCode);
        var query = System.Web.HttpUtility.ParseQueryString(consent.Headers.Location!.Query);
        Assert.Equal(("access_denied", "xyz"), (query["error"], query["state"]));
    }

    [Fact]
    public async Task Auth_NonLoopbackRedirect_IsRefusedWithoutRedirecting()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        google.AddClient("desktop", "s3cret");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = google.BaseUri };

        using var consent = await http.GetAsync($"auth?client_id=desktop&redirect_uri={Uri.EscapeDataString("http://evil.example/")}&response_type=code&scope={Uri.EscapeDataString(GoogleScopes.Drive)}");

        Assert.Equal(400, (int)consent.StatusCode);
        Assert.Contains("redirect_uri_mismatch", await consent.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
