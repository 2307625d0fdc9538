using LoadPipe.Core.Errors;
using LoadPipe.Google.Auth;
using Microsoft.AspNetCore.WebUtilities;
using Scopes = LoadPipe.Google.Auth.GoogleScopes;

namespace LoadPipe.Google.Tests.Auth;

/// <summary>`lp auth login`'s flow against the fake Google: the test plays the browser by GETting the consent URL,
/// which redirects to the loopback listener.</summary>
public sealed class InstalledAppLoginTests
{
    [Fact]
    public async Task Login_ConsentGiven_StoresARefreshTokenTheSourceUses()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote();
        Uri? consent = null;
        Task<HttpResponseMessage>? browser = null;

        var login = await new InstalledAppLogin(bed.Store, bed.Time).LoginAsync(remote, Scopes.For(remote), url =>
        {
            consent = url;
            browser = bed.Http.GetAsync(url);
        });

        using (var page = await browser!)
        {
            Assert.Equal(200, (int)page.StatusCode);
            Assert.Contains("signed in", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var query = QueryHelpers.ParseQuery(consent!.Query);
        Assert.Equal("offline", query["access_type"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal("consent", query["prompt"]);
        Assert.StartsWith("http://127.0.0.1:", query["redirect_uri"].ToString(), StringComparison.Ordinal);
        Assert.Equal([Scopes.Drive], login.Scopes);

        var stored = bed.Store.Load("mydrive");
        Assert.NotNull(stored);
        Assert.Equal(login.RefreshToken, stored.RefreshToken);
        Assert.Equal("gdrive", stored.Type);
        var token = await bed.Google.TokenSourceFor(remote, [Scopes.Drive]).GetAccessTokenAsync();
        Assert.Equal(200, await bed.DriveStatusAsync(token));
    }

    [Fact]
    public async Task Login_YouTubeRemote_AsksForUploadAndReadOnly()
    {
        await using var bed = await AuthTestBed.StartAsync();
        var remote = bed.Remote("yt", "youtube");

        var login = await LoginAsync(bed, remote);

        Assert.Equal([Scopes.YouTubeUpload, Scopes.YouTubeReadOnly], login.Scopes);
    }

    [Fact]
    public async Task Login_ConsentRefused_IsAuthErrorAndStoresNothing()
    {
        await using var bed = await AuthTestBed.StartAsync();
        bed.Server.OAuth.DenyConsent = true;

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => LoginAsync(bed, bed.Remote()));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("access_denied", e.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Store.Remotes());
    }

    [Fact]
    public async Task Login_WrongClientSecret_IsAuthErrorAboutTheClient()
    {
        await using var bed = await AuthTestBed.StartAsync();

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => LoginAsync(bed, bed.Remote(clientSecret: "not-the-secret")));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
        Assert.Contains("client_id and client_secret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_UserUntickedAScope_IsAuthErrorNamingIt()
    {
        await using var bed = await AuthTestBed.StartAsync();
        bed.Server.OAuth.GrantScopes = asked => asked.Where(s => s != Scopes.YouTubeReadOnly).ToList();

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => LoginAsync(bed, bed.Remote("yt", "youtube")));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains(Scopes.YouTubeReadOnly, e.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Store.Remotes());
    }

    [Fact]
    public async Task Login_RedirectWithAnotherState_IsRefusedAndTheRealOneStillWorks()
    {
        await using var bed = await AuthTestBed.StartAsync();
        Task<HttpResponseMessage>? forged = null, browser = null;

        var login = await new InstalledAppLogin(bed.Store, bed.Time).LoginAsync(bed.Remote(), [Scopes.Drive], url =>
        {
            var redirect = QueryHelpers.ParseQuery(url.Query)["redirect_uri"].ToString();
            forged = bed.Http.GetAsync(redirect + "?code=stolen&state=not-ours");
            browser = forged.ContinueWith(_ => bed.Http.GetAsync(url), TaskScheduler.Default).Unwrap();
        });

        Assert.Equal(400, (int)(await forged!).StatusCode);
        Assert.Equal(200, (int)(await browser!).StatusCode);
        Assert.NotEmpty(login.RefreshToken);
    }

    [Fact]
    public async Task Login_ServiceAccountRemote_IsUsageError()
    {
        await using var bed = await AuthTestBed.StartAsync();

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => LoginAsync(bed, bed.ServiceAccountRemote()));

        Assert.Equal(ErrorKind.Usage, e.Kind);
    }

    private static async Task<StoredLogin> LoginAsync(AuthTestBed bed, Core.Locations.RemoteDefinition remote)
    {
        Task<HttpResponseMessage>? browser = null;
        try
        {
            return await new InstalledAppLogin(bed.Store, bed.Time).LoginAsync(remote, Scopes.For(remote), url => browser = bed.Http.GetAsync(url),
                TimeSpan.FromMinutes(1));
        }
        finally
        {
            if (browser is not null) (await browser).Dispose();
        }
    }
}
