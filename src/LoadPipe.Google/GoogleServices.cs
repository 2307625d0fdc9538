using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Google.Auth;

namespace LoadPipe.Google;

/// <summary>
/// What every Google adapter shares in one process: the HTTP client and the credentials of each remote (an
/// installed-app login from the encrypted token store, or a service account). One instance per process.
/// </summary>
public sealed class GoogleServices
{
    /// <summary>A fixed access token for every Google remote (scripts, benchmarks): no refresh, no store.</summary>
    public const string AccessTokenVariable = "LP_GOOGLE_ACCESS_TOKEN";

    private readonly Func<string, string?> _environment;
    private readonly Dictionary<string, IAccessTokenSource> _sources = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <param name="http">For the adapters' API requests.</param>
    /// <param name="tokens">The login store; default <see cref="TokenStore.FromEnvironment"/>.</param>
    /// <param name="time">The clock token expiry is measured with; default the system's.</param>
    /// <param name="environment">Reads environment variables (LP_GOOGLE_ACCESS_TOKEN, and the store's); default the process's.</param>
    public GoogleServices(HttpClient http, TokenStore? tokens = null, TimeProvider? time = null, Func<string, string?>? environment = null)
    {
        Http = http;
        _environment = environment ?? Environment.GetEnvironmentVariable;
        Tokens = tokens ?? TokenStore.FromEnvironment(_environment);
        Time = time ?? TimeProvider.System;
    }

    private GoogleServices(GoogleServices shared, string user)
    {
        Http = shared.Http;
        _environment = shared._environment;
        Tokens = shared.Tokens;
        Time = shared.Time;
        User = user;
    }

    /// <summary>The LoadPipe user whose sign-ins these services use (seed 003's users); null for the default ones.</summary>
    public string? User { get; }

    /// <summary>
    /// The same services signing in as <paramref name="user"/>: with the sign-in `lp auth login NAME --user USER`
    /// stored, and nothing else. Neither LP_GOOGLE_ACCESS_TOKEN, nor a service_account_file, nor the remote's default
    /// sign-in, nor another user's is ever used for a user: a remote the user has not signed in to is an
    /// <see cref="ErrorKind.Auth"/> error that names the command to run.
    /// </summary>
    public GoogleServices ForUser(string user) => new(this, TokenStore.CheckUser(user));

    public HttpClient Http { get; }

    /// <summary>Where `lp auth login` keeps its logins, encrypted.</summary>
    public TokenStore Tokens { get; }

    public TimeProvider Time { get; }

    /// <summary>
    /// The access tokens for <paramref name="remote"/> with <paramref name="scopes"/> (see <see cref="GoogleScopes"/>):
    /// LP_GOOGLE_ACCESS_TOKEN when set, else the remote's `service_account_file`, else the login `lp auth login NAME`
    /// stored. Throws an <see cref="ErrorKind.Auth"/> error naming `lp auth login NAME` when there is none, when the
    /// stored login cannot be decrypted (wrong key) or lacks one of the scopes; a <see cref="ErrorKind.Usage"/> error
    /// for a bad service_account_file or missing client_id. One source per remote and scopes per process, so every
    /// storage of a remote shares its refreshes.
    /// </summary>
    public IAccessTokenSource TokenSourceFor(RemoteDefinition remote, IReadOnlyList<string> scopes)
    {
        var key = remote.Name + "\n" + string.Join(' ', scopes.Order(StringComparer.Ordinal));
        lock (_gate)
        {
            if (_sources.TryGetValue(key, out var existing)) return existing;
            var source = Create(remote, scopes);
            _sources[key] = source;
            return source;
        }
    }

    /// <summary>
    /// Who <paramref name="remote"/>'s credentials are, as text that holds no secret and changes when they do: the
    /// service account's client_email, or the login's client and the time `lp auth login` ran (a new login may be
    /// another user). LP_GOOGLE_ACCESS_TOKEN is an opaque token, so it is named by its SHA-256 (it changes with each
    /// token). Throws as <see cref="TokenSourceFor"/> does when the remote has no credentials.
    /// </summary>
    public string CredentialIdentity(RemoteDefinition remote)
    {
        if (User is not null)
        {
            var own = UserLogin(remote, User);
            return $"user {User} login {own.ClientId} {own.TokenUrl} {own.LoggedInAt.UtcTicks}";
        }
        if (_environment(AccessTokenVariable) is { Length: > 0 } fixedToken)
            return "access-token sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(fixedToken.Trim())));
        if (remote.Get("service_account_file") is { Length: > 0 } keyFile)
            return "service-account " + ServiceAccountKey.Read(remote.Name, keyFile).ClientEmail;
        var login = Tokens.Load(remote.Name)
            ?? throw new LoadPipeException(ErrorKind.Auth,
                $"remote '{remote.Name}' is not signed in: run lp auth login {remote.Name} (or set service_account_file)");
        return $"login {login.ClientId} {login.TokenUrl} {login.LoggedInAt.UtcTicks}";
    }

    private IAccessTokenSource Create(RemoteDefinition remote, IReadOnlyList<string> scopes)
    {
        if (User is not null) return new InstalledAppTokenSource(remote, scopes, UserLogin(remote, User), Tokens, Time);
        if (_environment(AccessTokenVariable) is { Length: > 0 } fixedToken) return new FixedTokenSource(fixedToken.Trim());
        if (remote.Get("service_account_file") is { Length: > 0 }) return new ServiceAccountTokenSource(remote, scopes, Time);
        var login = Tokens.Load(remote.Name)
            ?? throw new LoadPipeException(ErrorKind.Auth,
                $"remote '{remote.Name}' is not signed in: run lp auth login {remote.Name} (or set service_account_file)");
        return new InstalledAppTokenSource(remote, scopes, login, Tokens, Time);
    }

    private StoredLogin UserLogin(RemoteDefinition remote, string user) =>
        Tokens.Load(remote.Name, user)
        ?? throw new LoadPipeException(ErrorKind.Auth,
            $"remote '{remote.Name}' has no sign-in for user '{user}': run lp auth login {remote.Name} --user {user} (a user's jobs never use another user's or the default sign-in)");
}
