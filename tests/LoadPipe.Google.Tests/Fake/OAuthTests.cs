using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using LoadPipe.Testing.Google;

namespace LoadPipe.Google.Tests.Fake;

public sealed class OAuthTests
{
    [Fact]
    public async Task Token_AuthorizationCodeWithPkce_IssuesAccessAndRefreshTokens()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        google.AddClient("desktop", "s3cret");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var verifier = "verifier-" + new string('x', 50);
        var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        const string redirect = "http://127.0.0.1:45678/";

        using var consent = await http.GetAsync($"{google.AuthUri}?client_id=desktop&redirect_uri={Uri.EscapeDataString(redirect)}&response_type=code" +
            $"&scope={Uri.EscapeDataString(GoogleScopes.Drive)}&state=st8&access_type=offline&code_challenge={challenge}&code_challenge_method=S256");
        Assert.Equal(302, (int)consent.StatusCode);
        var query = System.Web.HttpUtility.ParseQueryString(consent.Headers.Location!.Query);
        Assert.Equal("st8", query["state"]);

        using var wrongVerifier = await TokenAsync(http, google, ("grant_type", "authorization_code"), ("code", query["code"]!), ("client_id", "desktop"),
            ("client_secret", "s3cret"), ("redirect_uri", redirect), ("code_verifier", "not-it"));
        Assert.Equal(400, (int)wrongVerifier.StatusCode); // and the code is used up, as Google does
        using var consent2 = await http.GetAsync($"{google.AuthUri}?client_id=desktop&redirect_uri={Uri.EscapeDataString(redirect)}&response_type=code" +
            $"&scope={Uri.EscapeDataString(GoogleScopes.Drive)}&state=st8&access_type=offline&code_challenge={challenge}&code_challenge_method=S256");
        var code = System.Web.HttpUtility.ParseQueryString(consent2.Headers.Location!.Query)["code"]!;
        using var granted = await TokenAsync(http, google, ("grant_type", "authorization_code"), ("code", code), ("client_id", "desktop"),
            ("client_secret", "s3cret"), ("redirect_uri", redirect), ("code_verifier", verifier));
        Assert.Equal(200, (int)granted.StatusCode);
        var tokens = (JsonObject)JsonNode.Parse(await granted.Content.ReadAsStringAsync())!;
        Assert.Equal("Bearer", (string?)tokens["token_type"]);
        Assert.Equal(GoogleScopes.Drive, (string?)tokens["scope"]);

        using var refreshed = await TokenAsync(http, google, ("grant_type", "refresh_token"), ("refresh_token", (string)tokens["refresh_token"]!),
            ("client_id", "desktop"), ("client_secret", "s3cret"));
        Assert.Equal(200, (int)refreshed.StatusCode);
        Assert.NotEqual((string?)tokens["access_token"], (string?)JsonNode.Parse(await refreshed.Content.ReadAsStringAsync())!["access_token"]);
    }

    [Fact]
    public async Task Token_WrongClientSecret_IsInvalidClient()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        google.AddClient("desktop", "s3cret");
        using var http = new HttpClient();
        var refresh = google.OAuth.IssueToken("desktop", [GoogleScopes.Drive]).RefreshToken!;

        using var refused = await TokenAsync(http, google, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "desktop"), ("client_secret", "nope"));

        Assert.Equal(401, (int)refused.StatusCode);
        Assert.Equal("invalid_client", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]);
    }

    [Fact]
    public async Task JwtBearer_GoogleApisServiceAccountCredential_GetsAToken()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        var json = google.CreateServiceAccount("robot@loadpipe-fake.iam.gserviceaccount.com");
        var credential = CredentialFactory.FromJson<ServiceAccountCredential>(json).ToGoogleCredential().CreateScoped(GoogleScopes.Drive);

        var token = await credential.UnderlyingCredential.GetAccessTokenForRequestAsync();

        using var http = new HttpClient { BaseAddress = google.BaseUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var listed = await http.GetAsync("drive/v3/files");
        Assert.Equal(200, (int)listed.StatusCode);
    }

    [Fact]
    public async Task JwtBearer_SignedWithAnotherKey_IsInvalidGrant()
    {
        await using var google = await GoogleProtocolServer.StartAsync();
        google.CreateServiceAccount("robot@loadpipe-fake.iam.gserviceaccount.com");
        using var otherKey = RSA.Create(2048);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"RS256","typ":"JWT"}"""));
        var claims = B64(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["iss"] = "robot@loadpipe-fake.iam.gserviceaccount.com",
            ["scope"] = GoogleScopes.Drive,
            ["aud"] = google.TokenUri.ToString(),
            ["iat"] = now,
            ["exp"] = now + 3600,
        }.ToJsonString()));
        var signature = B64(otherKey.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        using var http = new HttpClient();

        using var refused = await TokenAsync(http, google, ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", $"{header}.{claims}.{signature}"));

        Assert.Equal(400, (int)refused.StatusCode);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("invalid_grant", (string?)error["error"]);
        Assert.Equal("Invalid JWT Signature.", (string?)error["error_description"]);
    }

    private static Task<HttpResponseMessage> TokenAsync(HttpClient http, GoogleProtocolServer google, params (string Key, string Value)[] form) =>
        http.PostAsync(google.TokenUri, new FormUrlEncodedContent(form.Select(p => KeyValuePair.Create(p.Key, p.Value))));

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
