using System.IO.Pipelines;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Testing.Google;

namespace LoadPipe.EndToEnd.Tests.Google;

/// <summary>
/// `lp auth login/list/logout` as a real process against the Google protocol server: the test plays the browser,
/// opening the address lp prints; the fake's consent page redirects to lp's loopback listener. lp's key file and
/// token store live in the sandbox (XDG_CONFIG_HOME, XDG_DATA_HOME).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuthTests
{
    private const string Remote = "mydrive";
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Login_NoBrowser_PrintedAddressSignsInAndListShowsTheRemoteWithoutTokens()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);

        var login = await LoginAsync(sandbox);

        login.AssertExitCode(0);
        Assert.Contains($"signed in: remote '{Remote}' (gdrive, drive)", login.Stdout, StringComparison.Ordinal);
        AssertNoTokenText(login);
        var tokenFile = sandbox.PathOf($".local/share/loadpipe/tokens/{Remote}.token");
        var keyFile = sandbox.PathOf(".config/loadpipe/secret.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal(1, google.OAuth.TokensIssued);

        var list = (await sandbox.LpAsync("auth", "list", "--json")).AssertExitCode(0);
        var entry = Assert.Single(list.JsonLines);
        Assert.Equal(Remote, entry.GetProperty("remote").GetString());
        Assert.Equal("gdrive", entry.GetProperty("type").GetString());
        Assert.Equal(["https://www.googleapis.com/auth/drive"], entry.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.True(entry.GetProperty("in_config").GetBoolean());
        Assert.True(entry.GetProperty("access_token_expires_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
        AssertNoTokenText(list);
        var text = (await sandbox.LpAsync("auth", "list")).AssertExitCode(0);
        Assert.StartsWith(Remote, Assert.Single(text.StdoutLines), StringComparison.Ordinal);
        AssertNoTokenText(text);
    }

    [Fact]
    public async Task List_KeyFileReplacedByAnotherKey_OneClearErrorAndExitOne()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        (await LoginAsync(sandbox)).AssertExitCode(0);
        File.WriteAllText(sandbox.PathOf(".config/loadpipe/secret.key"), Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) + "\n");

        var list = (await sandbox.LpAsync("auth", "list", "--json")).AssertExitCode(1);

        Assert.Equal($"error: cannot decrypt the stored token for remote '{Remote}': wrong LP_SECRET_KEY or key file (the key in use is from {sandbox.PathOf(".config/loadpipe/secret.key")})",
            list.AssertOneErrorLine());
        Assert.Empty(list.StdoutLines);
    }

    [Fact]
    public async Task List_KeyFileOpenToOthers_IsRefusedLikeSsh()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        (await LoginAsync(sandbox)).AssertExitCode(0);
        var keyFile = sandbox.PathOf(".config/loadpipe/secret.key");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var list = (await sandbox.LpAsync("auth", "list")).AssertExitCode(1);

        Assert.Contains($"run chmod 600 {keyFile}", list.AssertOneErrorLine(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_StoredSignIn_IsDeletedEvenWithoutTheKey()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        (await LoginAsync(sandbox)).AssertExitCode(0);
        File.Delete(sandbox.PathOf(".config/loadpipe/secret.key"));

        (await sandbox.LpAsync("auth", "logout", Remote)).AssertExitCode(0);

        Assert.False(File.Exists(sandbox.PathOf($".local/share/loadpipe/tokens/{Remote}.token")));
        Assert.Empty((await sandbox.LpAsync("auth", "list", "--json")).AssertExitCode(0).StdoutLines);
        var again = (await sandbox.LpAsync("auth", "logout", Remote)).AssertExitCode(1);
        Assert.Contains("has no stored sign-in", again.AssertOneErrorLine(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_ConsentRefusedInTheBrowser_ExitOneAndNothingStored()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        google.OAuth.DenyConsent = true;
        Configure(sandbox, google);

        var login = (await LoginAsync(sandbox)).AssertExitCode(1);

        Assert.Contains("access_denied", login.AssertOneErrorLine(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(sandbox.PathOf(".local/share/loadpipe/tokens")) && Directory.EnumerateFiles(sandbox.PathOf(".local/share/loadpipe/tokens")).Any());
    }

    [Fact]
    public async Task Login_WrongClientSecret_ExitOneNamingTheSettings()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google, clientSecret: "mistyped-secret");

        var login = (await LoginAsync(sandbox)).AssertExitCode(1);

        var error = login.AssertOneErrorLine();
        Assert.Contains("client_id and client_secret", error, StringComparison.Ordinal);
        Assert.DoesNotContain("mistyped-secret", login.Stderr + login.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nosuch", "no remote named 'nosuch'")]
    [InlineData("local1", "Google sign-in is for gdrive and youtube remotes")]
    public async Task Login_NotAGoogleRemote_UsageErrorExitTwo(string remote, string expected)
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);

        var login = (await sandbox.LpAsync("auth", "login", remote, "--no-browser")).AssertExitCode(2);

        Assert.Contains(expected, login.AssertOneErrorLine(), StringComparison.Ordinal);
    }

    /// <summary>Runs `lp auth login mydrive --no-browser`, reads the address it prints and opens it as a browser would.</summary>
    private static async Task<LpResult> LoginAsync(Sandbox sandbox)
    {
        var stdout = new Pipe();
        await using var lp = LpProcess.Start(sandbox, ["auth", "login", Remote, "--no-browser", "--manifest", sandbox.Manifest], stdout.Writer.AsStream());
        using var reader = new StreamReader(stdout.Reader.AsStream());
        var address = await reader.ReadLineAsync().WaitAsync(LineTimeout);
        if (address is null || !address.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
            Assert.Fail($"expected the consent address as lp's first line on stdout, got '{address}'\n{await lp.KillAsync()}");
        using (var browser = new HttpClient())
            (await browser.GetAsync(address)).Dispose();
        var result = await lp.WaitAsync();
        return result with { Stdout = address + "\n" + await reader.ReadToEndAsync() };
    }

    private static void Configure(Sandbox sandbox, GoogleProtocolServer google, string clientSecret = GoogleProtocolServer.DefaultClientSecret) =>
        File.WriteAllText(sandbox.PathOf(".config/loadpipe/config.yaml"), $"""
            remotes:
              {Remote}:
                type: gdrive
                client_id: {GoogleProtocolServer.DefaultClientId}
                client_secret: {clientSecret}
                auth_url: {google.AuthUri}
                token_url: {google.TokenUri}
                api_url: {google.DriveApiUri}
                upload_url: {google.DriveUploadUri}
              local1:
                type: local
                root: {sandbox.Root}

            """);

    /// <summary>The fake's access tokens start "ya29.", its refresh tokens "1//", like Google's.</summary>
    private static void AssertNoTokenText(LpResult result)
    {
        Assert.DoesNotContain("ya29.", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("1//", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }
}
