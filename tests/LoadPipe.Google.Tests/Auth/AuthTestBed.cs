using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Google.Auth;
using LoadPipe.Testing.Google;

namespace LoadPipe.Google.Tests.Auth;

/// <summary>
/// A Google protocol server with its clock, a token store with its own key in a temporary folder, and remotes
/// pointed at the server: what each auth test starts from.
/// </summary>
internal sealed class AuthTestBed : IAsyncDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("lp-auth-");
    private readonly Dictionary<string, string?> _environment = new(StringComparer.Ordinal);

    private AuthTestBed(GoogleProtocolServer server, TimeProvider time)
    {
        Server = server;
        Time = time;
        _environment[SecretKey.Variable] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Store = new TokenStore(Path.Combine(_root.FullName, "tokens"), new SecretKey(Path.Combine(_root.FullName, "secret.key"), Environment));
        Google = new GoogleServices(new HttpClient(), Store, time, Environment);
    }

    public GoogleProtocolServer Server { get; }
    public TimeProvider Time { get; }
    public TokenStore Store { get; }
    public GoogleServices Google { get; }
    public HttpClient Http { get; } = new();
    public string Root => _root.FullName;

    /// <summary>A bed whose server and token sources share <paramref name="time"/> (default the system clock).</summary>
    public static async Task<AuthTestBed> StartAsync(TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var server = await GoogleProtocolServer.StartAsync(new GoogleServerOptions { TimeProvider = time });
        return new AuthTestBed(server, time);
    }

    public string? Environment(string name) => _environment.GetValueOrDefault(name);

    public void SetEnvironment(string name, string? value) => _environment[name] = value;

    /// <summary>A remote of <paramref name="type"/> with the server's default client and endpoints.</summary>
    public RemoteDefinition Remote(string name = "mydrive", string type = "gdrive", string? clientSecret = null, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["client_id"] = GoogleProtocolServer.DefaultClientId,
            ["client_secret"] = clientSecret ?? GoogleProtocolServer.DefaultClientSecret,
            ["auth_url"] = Server.AuthUri.ToString(),
            ["token_url"] = Server.TokenUri.ToString(),
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return new RemoteDefinition(name, type, settings);
    }

    /// <summary>A remote signing in with a new service account's key file, whose token_uri is the server's.</summary>
    public RemoteDefinition ServiceAccountRemote(string name = "robot", string email = "robot@loadpipe-fake.iam.gserviceaccount.com",
        IEnumerable<string>? allowedScopes = null)
    {
        var path = Path.Combine(Root, name + ".json");
        File.WriteAllText(path, Server.CreateServiceAccount(email, allowedScopes));
        return new RemoteDefinition(name, "gdrive", new Dictionary<string, string> { ["service_account_file"] = path });
    }

    /// <summary>A login as `lp auth login` would have stored it, issued by the server without the browser.</summary>
    public StoredLogin StoreIssuedLogin(RemoteDefinition remote, params string[] scopes)
    {
        var issued = Server.IssueToken(scopes);
        var login = new StoredLogin
        {
            Remote = remote.Name,
            Type = remote.Type,
            Scopes = scopes,
            ClientId = GoogleProtocolServer.DefaultClientId,
            TokenUrl = Server.TokenUri.ToString(),
            RefreshToken = issued.RefreshToken!,
            AccessToken = issued.AccessToken,
            AccessTokenExpiresAt = issued.ExpiresAt,
            LoggedInAt = Time.GetUtcNow(),
        };
        Store.Save(login);
        return login;
    }

    /// <summary>A Drive request with <paramref name="token"/>: the status the server answers (200, or 401 for a refused token).</summary>
    public async Task<int> DriveStatusAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Server.DriveApiUri + "/files?q=" + Uri.EscapeDataString($"'{Server.RootFolderId}' in parents"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await Http.SendAsync(request);
        return (int)response.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Google.Http.Dispose();
        await Server.DisposeAsync();
        _root.Delete(recursive: true);
    }
}
