using System.Text.Json.Nodes;
using LoadPipe.Core.Errors;
using LoadPipe.Google.Auth;
using Microsoft.Extensions.Time.Testing;
using Scopes = LoadPipe.Google.Auth.GoogleScopes;

namespace LoadPipe.Google.Tests.Auth;

/// <summary><see cref="GoogleServices.TokenSourceFor"/> against the fake Google token endpoint: stored logins, their
/// refreshes and failures, service accounts, LP_GOOGLE_ACCESS_TOKEN.</summary>
public sealed class GoogleTokenSourceTests
{
    [Fact]
    public async Task TokenSource_StoredLogin_StartsWithTheStoredAccessToken()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        var login = bed.StoreIssuedLogin(remote, Scopes.Drive);

        var token = await bed.Google.TokenSourceFor(remote, [Scopes.Drive]).GetAccessTokenAsync();

        Assert.Equal(login.AccessToken, token);
        Assert.Equal(0, bed.Server.OAuth.TokenRequests);
    }

    [Fact]
    public async Task TokenSource_AMinuteBeforeExpiry_RefreshesAndStoresTheNewToken()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var bed = await AuthTestBed.StartAsync(clock);
        var remote = bed.Remote();
        var login = bed.StoreIssuedLogin(remote, Scopes.Drive);
        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);

        clock.Advance(login.AccessTokenExpiresAt!.Value - clock.GetUtcNow() - TimeSpan.FromSeconds(61));
        Assert.Equal(login.AccessToken, await source.GetAccessTokenAsync());
        Assert.Equal(0, bed.Server.OAuth.TokenRequests);

        clock.Advance(TimeSpan.FromSeconds(2));
        var fresh = await source.GetAccessTokenAsync();

        Assert.NotEqual(login.AccessToken, fresh);
        Assert.Equal(1, bed.Server.OAuth.TokenRequests);
        Assert.Equal(200, await bed.DriveStatusAsync(fresh));
        var stored = bed.Store.Load(remote.Name)!;
        Assert.Equal(fresh, stored.AccessToken);
        Assert.Equal(login.RefreshToken, stored.RefreshToken);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromSeconds(3599), stored.AccessTokenExpiresAt);
    }

    [Fact]
    public async Task Refresh_ServerRefusedTheToken_OneRefreshSharedByConcurrentCallers()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);
        var refused = await source.GetAccessTokenAsync();
        bed.Server.ExpireAllTokens();
        Assert.Equal(401, await bed.DriveStatusAsync(refused));

        var renewed = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => source.RefreshAsync(refused).AsTask()));

        Assert.Single(renewed.Distinct());
        Assert.NotEqual(refused, renewed[0]);
        Assert.Equal(1, bed.Server.OAuth.TokenRequests);
        Assert.Equal(200, await bed.DriveStatusAsync(renewed[0]));
    }

    [Fact]
    public async Task Refresh_AnotherProcessRefreshedFirst_TakesItsStoredTokenWithoutAskingTheServer()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        var first = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);
        var second = new GoogleServices(bed.Http, bed.Store, environment: bed.Environment).TokenSourceFor(remote, [Scopes.Drive]);
        var refused = await second.GetAccessTokenAsync();
        bed.Server.ExpireAllTokens();

        var renewedByFirst = await first.RefreshAsync(refused);
        var renewedBySecond = await second.RefreshAsync(refused);

        Assert.Equal(renewedByFirst, renewedBySecond);
        Assert.Equal(1, bed.Server.OAuth.TokenRequests);
    }

    [Fact]
    public async Task Refresh_AfterLogout_KeepsWorkingWithoutRecreatingTheSignIn()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);
        var refused = await source.GetAccessTokenAsync();
        Assert.True(bed.Store.Delete(remote.Name));

        var renewed = await source.RefreshAsync(refused);

        Assert.Equal(200, await bed.DriveStatusAsync(renewed));
        Assert.False(bed.Store.Contains(remote.Name));
    }

    [Fact]
    public async Task Refresh_SignedInAgainMeanwhile_UsesTheNewSignIn()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);
        var refused = await source.GetAccessTokenAsync();
        bed.Server.OAuth.RevokeRefreshTokens();
        bed.Server.ExpireAllTokens();
        var again = bed.StoreIssuedLogin(remote, Scopes.Drive);

        Assert.Equal(again.AccessToken, await source.RefreshAsync(refused));
        Assert.Equal(200, await bed.DriveStatusAsync(again.AccessToken!));
        bed.Server.ExpireAllTokens();
        var renewed = await source.RefreshAsync(again.AccessToken!);

        Assert.Equal(200, await bed.DriveStatusAsync(renewed));
        Assert.Equal(again.RefreshToken, bed.Store.Load(remote.Name)!.RefreshToken);
        Assert.Equal(renewed, bed.Store.Load(remote.Name)!.AccessToken);
        Assert.Equal(1, bed.Server.OAuth.TokenRequests);
    }

    [Fact]
    public async Task TokenSource_SameRemoteTwice_IsOneSource()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);

        Assert.Same(bed.Google.TokenSourceFor(remote, [Scopes.Drive]), bed.Google.TokenSourceFor(remote, [Scopes.Drive]));
    }

    [Fact]
    public async Task Refresh_RevokedRefreshToken_IsAuthErrorNamingLoginAndKeepsTheStore()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);
        var refused = await source.GetAccessTokenAsync();
        bed.Server.OAuth.RevokeRefreshTokens();

        var e = await Assert.ThrowsAsync<LoadPipeException>(async () => await source.RefreshAsync(refused));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("invalid_grant", e.Message, StringComparison.Ordinal);
        Assert.Contains("run lp auth login mydrive", e.Message, StringComparison.Ordinal);
        Assert.True(bed.Store.Contains(remote.Name));
    }

    [Fact]
    public async Task Refresh_WrongClientSecret_IsAuthErrorAboutTheClientWithoutTheSecret()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote(clientSecret: "typo-secret");
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);

        var e = await Assert.ThrowsAsync<LoadPipeException>(async () => await source.RefreshAsync(await source.GetAccessTokenAsync()));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
        Assert.Contains("client_id and client_secret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("typo-secret", e.Message, StringComparison.Ordinal);
        Assert.True(bed.Store.Contains(remote.Name));
    }

    [Fact]
    public async Task TokenSource_NothingStored_IsAuthErrorNamingLogin()
    {
        await using var bed = await AuthTestBed.StartAsync();

        var e = Assert.Throws<LoadPipeException>(() => bed.Google.TokenSourceFor(bed.Remote(), [Scopes.Drive]));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("lp auth login mydrive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenSource_ForAUserWithoutASignIn_IsAuthError_EvenWithTheDefaultSignInAndTheFixedToken()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        bed.SetEnvironment(GoogleServices.AccessTokenVariable, "ya29.from-the-environment");

        var e = Assert.Throws<LoadPipeException>(() => bed.Google.ForUser("carol").TokenSourceFor(remote, [Scopes.Drive]));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("remote 'mydrive' has no sign-in for user 'carol': run lp auth login mydrive --user carol", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenSource_StoreWrittenWithAnotherKey_IsAuthErrorAboutTheKey()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        bed.StoreIssuedLogin(remote, Scopes.Drive);
        bed.SetEnvironment(SecretKey.Variable, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        var google = new GoogleServices(bed.Http, new TokenStore(bed.Store.Directory, new SecretKey(bed.Store.Key.KeyFile, bed.Environment)), environment: bed.Environment);

        var e = Assert.Throws<LoadPipeException>(() => google.TokenSourceFor(remote, [Scopes.Drive]));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("cannot decrypt the stored token for remote 'mydrive': wrong LP_SECRET_KEY or key file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenSource_LoginWithoutAScopeTheAdapterNeeds_IsAuthErrorNamingLogin()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote("yt", "youtube");
        bed.StoreIssuedLogin(remote, Scopes.YouTubeUpload);

        var e = Assert.Throws<LoadPipeException>(() => bed.Google.TokenSourceFor(remote, [Scopes.YouTubeUpload, Scopes.YouTubeReadOnly]));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains(Scopes.YouTubeReadOnly, e.Message, StringComparison.Ordinal);
        Assert.Contains("lp auth login yt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenSource_FixedTokenVariable_WinsOverEverything()
    {
        await using var bed = await AuthTestBed.StartAsync();
        bed.SetEnvironment(GoogleServices.AccessTokenVariable, "ya29.from-the-environment");

        var source = bed.Google.TokenSourceFor(bed.Remote(), [Scopes.Drive]);

        Assert.Equal("ya29.from-the-environment", await source.GetAccessTokenAsync());
        await Assert.ThrowsAsync<LoadPipeException>(async () => await source.RefreshAsync("ya29.from-the-environment"));
    }

    [Fact]
    public async Task ServiceAccount_JwtGrant_TokenIsAcceptedByTheApi()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.ServiceAccountRemote();

        var source = bed.Google.TokenSourceFor(remote, [Scopes.Drive]);
        var token = await source.GetAccessTokenAsync();

        Assert.Equal(200, await bed.DriveStatusAsync(token));
        Assert.Equal(token, await source.GetAccessTokenAsync());
        bed.Server.ExpireAllTokens();
        var renewed = await source.RefreshAsync(token);
        Assert.NotEqual(token, renewed);
        Assert.Equal(200, await bed.DriveStatusAsync(renewed));
        Assert.Equal(2, bed.Server.OAuth.TokenRequests);
        Assert.Empty(bed.Store.Remotes());
    }

    [Fact]
    public async Task ServiceAccount_KeyFileOfAnUnknownAccount_IsAuthErrorAboutTheFile()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.ServiceAccountRemote();
        var path = remote.Get("service_account_file")!;
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["client_email"] = "deleted@loadpipe-fake.iam.gserviceaccount.com";
        File.WriteAllText(path, json.ToJsonString());

        var e = await Assert.ThrowsAsync<LoadPipeException>(async () => await bed.Google.TokenSourceFor(remote, [Scopes.Drive]).GetAccessTokenAsync());

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("service_account_file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceAccount_ScopeNotAllowed_IsAuthError()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.ServiceAccountRemote(allowedScopes: [Scopes.YouTubeUpload]);

        var e = await Assert.ThrowsAsync<LoadPipeException>(async () => await bed.Google.TokenSourceFor(remote, [Scopes.Drive]).GetAccessTokenAsync());

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("invalid_scope", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", "is not JSON")]
    [InlineData("{\"type\":\"authorized_user\"}", "not a service account key")]
    [InlineData("{\"type\":\"service_account\",\"client_email\":\"a@b\"}", "no 'private_key'")]
    [InlineData("{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":\"garbage\"}", "not a PEM RSA private key")]
    public async Task ServiceAccount_BadKeyFile_IsUsageErrorNamingTheFile(string content, string expected)
    {
        await using var bed = await AuthTestBed.StartAsync();
        var path = Path.Combine(bed.Root, "bad.json");
        File.WriteAllText(path, content);
        var remote = new Core.Locations.RemoteDefinition("robot", "gdrive", new Dictionary<string, string> { ["service_account_file"] = path });

        var e = Assert.Throws<LoadPipeException>(() => bed.Google.TokenSourceFor(remote, [Scopes.Drive]));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
