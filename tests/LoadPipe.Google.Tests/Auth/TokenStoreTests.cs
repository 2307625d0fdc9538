using System.Security.Cryptography;
using System.Text;
using LoadPipe.Core.Errors;
using LoadPipe.Google.Auth;

namespace LoadPipe.Google.Tests.Auth;

/// <summary>The encrypted store and its key; file modes are POSIX, so not on Windows.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TokenStoreTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("lp-tokens-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void Save_ThenLoad_RoundTripsEveryField()
    {
        var store = Store(KeyText());
        var login = Login("mydrive");

        store.Save(login);

        var back = store.Load("mydrive");
        Assert.NotNull(back);
        Assert.Equal(login.Scopes, back.Scopes);
        Assert.Equal(login with { Scopes = [] }, back with { Scopes = [] });
        Assert.Equal(["mydrive"], store.Remotes());
    }

    [Fact]
    public void Save_UsersSignIns_KeptApartFromEachOtherAndTheDefault_AndAFileMovedBetweenThemDoesNotDecrypt()
    {
        var store = Store(KeyText());
        store.Save(Login("mydrive") with { RefreshToken = "1//default" });
        store.Save(Login("mydrive") with { User = "ann", RefreshToken = "1//ann" });
        store.Save(Login("mydrive") with { User = "bob smith", RefreshToken = "1//bob" });

        var logins = store.Logins();
        var ann = store.Load("mydrive", "ann");
        File.Copy(store.PathFor("mydrive", "ann"), store.PathFor("mydrive", "bob smith"), overwrite: true);
        var moved = Assert.Throws<LoadPipeException>(() => store.Load("mydrive", "bob smith"));

        Assert.Equal([("mydrive", (string?)null), ("mydrive", "ann"), ("mydrive", "bob smith")], logins);
        Assert.Equal(("1//ann", "ann"), (ann!.RefreshToken, ann.User));
        Assert.Equal("1//default", store.Load("mydrive")!.RefreshToken);
        Assert.Null(store.Load("mydrive", "carol"));
        Assert.Equal(ErrorKind.Auth, moved.Kind);
        Assert.True(store.Delete("mydrive", "ann"));
        Assert.Null(store.Load("mydrive", "ann"));
        Assert.NotNull(store.Load("mydrive"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(store.PathFor("mydrive", "ann"))!));
    }

    [Fact]
    public void Load_NothingStored_ReturnsNull()
    {
        var store = Store(KeyText());
        Assert.Null(store.Load("mydrive"));
        Assert.Empty(store.Remotes());
    }

    [Fact]
    public void Load_WithAnotherKey_IsAuthErrorNamingRemoteAndKey()
    {
        Store(KeyText()).Save(Login("mydrive"));

        var e = Assert.Throws<LoadPipeException>(() => Store(KeyText()).Load("mydrive"));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("cannot decrypt the stored token for remote 'mydrive'", e.Message, StringComparison.Ordinal);
        Assert.Contains("wrong LP_SECRET_KEY or key file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileCopiedToAnotherRemotesName_DoesNotDecrypt()
    {
        var store = Store(KeyText());
        store.Save(Login("mydrive"));
        File.Copy(store.PathFor("mydrive"), store.PathFor("other"));

        var e = Assert.Throws<LoadPipeException>(() => store.Load("other"));

        Assert.Equal(ErrorKind.Auth, e.Kind);
    }

    [Fact]
    public void Load_NoKeyAtAll_IsAuthErrorSayingSo()
    {
        Store(KeyText()).Save(Login("mydrive"));

        var e = Assert.Throws<LoadPipeException>(() => Store(null).Load("mydrive"));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("LP_SECRET_KEY is not set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_File_IsOwnerOnlyAndHoldsNoTokenText()
    {
        var store = Store(KeyText());
        var login = Login("mydrive");

        store.Save(login);

        var path = store.PathFor("mydrive");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(store.Directory));
        var bytes = File.ReadAllBytes(path);
        foreach (var secret in new[] { login.RefreshToken, login.AccessToken!, "refresh", "access_token" })
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)));
        Assert.Empty(Directory.GetFiles(store.Directory, "*.tmp"));
    }

    [Fact]
    public void Save_Twice_ReplacesTheLogin()
    {
        var store = Store(KeyText());
        store.Save(Login("mydrive"));

        store.Save(Login("mydrive") with { AccessToken = "second-access" });

        Assert.Equal("second-access", store.Load("mydrive")!.AccessToken);
        Assert.Single(Directory.GetFiles(store.Directory));
    }

    [Fact]
    public void Save_NoKeyYet_CreatesOwnerOnlyKeyFileThatOpensTheTokenLater()
    {
        var store = Store(null);

        store.Save(Login("mydrive"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        Assert.NotNull(SecretKey.Decode(File.ReadAllText(KeyFile)));
        Assert.Equal("refresh-secret-1", Store(null).Load("mydrive")!.RefreshToken);
    }

    [Fact]
    public void Load_KeyFileReadableByOthers_IsRefused()
    {
        Store(null).Save(Login("mydrive"));
        File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var e = Assert.Throws<LoadPipeException>(() => Store(null).Load("mydrive"));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
        Assert.Contains("0644", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("c2hvcnQ=")]
    [InlineData("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm")]
    public void Save_MalformedSecretKey_IsUsageErrorWithoutTheValue(string value)
    {
        var e = Assert.Throws<LoadPipeException>(() => Store(value).Save(Login("mydrive")));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("openssl rand -base64 32", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_UrlSafeUnpaddedKey_IsAccepted()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var text = Convert.ToBase64String(key).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(key, SecretKey.Decode(text));
    }

    [Fact]
    public void Delete_StoredLogin_RemovesItWithoutTheKey()
    {
        Store(KeyText()).Save(Login("my drive/é"));
        var other = Store(KeyText());

        Assert.True(other.Delete("my drive/é"));
        Assert.False(other.Delete("my drive/é"));
        Assert.Empty(other.Remotes());
    }

    [Fact]
    public void Remotes_NamesWithOddCharacters_AreListedAsWritten()
    {
        var store = Store(KeyText());
        store.Save(Login("my drive/é"));
        store.Save(Login("a.b-c"));

        Assert.Equal(["a.b-c", "my drive/é"], store.Remotes());
        Assert.Equal("my drive/é", store.Load("my drive/é")!.Remote);
    }

    [Fact]
    public void ToString_StoredLogin_LeavesTokensOut()
    {
        var text = Login("mydrive").ToString();
        Assert.DoesNotContain("refresh-secret-1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("access-secret-1", text, StringComparison.Ordinal);
    }

    private string KeyFile => Path.Combine(_root.FullName, "config", "loadpipe", "secret.key");

    private TokenStore Store(string? secretKey)
    {
        var environment = new Dictionary<string, string?> { ["LP_SECRET_KEY"] = secretKey };
        return new TokenStore(Path.Combine(_root.FullName, "tokens"), new SecretKey(KeyFile, name => environment.GetValueOrDefault(name)));
    }

    internal static string KeyText() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    internal static StoredLogin Login(string remote) => new()
    {
        Remote = remote,
        Type = "gdrive",
        Scopes = [GoogleScopes.Drive],
        ClientId = "client-1.apps.example",
        TokenUrl = "http://127.0.0.1:1/token",
        RefreshToken = "refresh-secret-1",
        AccessToken = "access-secret-1",
        AccessTokenExpiresAt = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero),
        LoggedInAt = new DateTimeOffset(2030, 1, 2, 2, 4, 5, TimeSpan.Zero),
    };
}
