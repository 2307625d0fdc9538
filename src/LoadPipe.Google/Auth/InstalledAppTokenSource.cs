using Google.Apis.Auth.OAuth2.Flows;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Auth;

/// <summary>
/// Access tokens from the refresh token `lp auth login` stored. Each new access token is written back to the store, so
/// the next lp run starts with it instead of asking the token endpoint again; before refreshing, the store is read in
/// case another lp process already did, or a new `lp auth login` replaced the sign-in.
/// </summary>
public sealed class InstalledAppTokenSource : RefreshingTokenSource
{
    private readonly RemoteDefinition _remote;
    private readonly TokenStore _store;
    private readonly IAuthorizationCodeFlow _flow;
    private readonly string _tokenUrl;
    private StoredLogin _login;

    /// <summary>Checks that <paramref name="login"/> fits the remote as configured now and holds <paramref name="scopes"/>.</summary>
    public InstalledAppTokenSource(RemoteDefinition remote, IReadOnlyList<string> scopes, StoredLogin login, TokenStore store, TimeProvider? time = null)
        : base(time)
    {
        _remote = remote;
        _store = store;
        _login = login;
        _tokenUrl = GoogleEndpoints.TokenUrl(remote);
        var clientId = remote.Require("client_id");
        var again = login.User is null ? $"lp auth login {remote.Name}" : $"lp auth login {remote.Name} --user {login.User}";
        if (login.ClientId != clientId)
            throw new LoadPipeException(ErrorKind.Auth,
                $"remote '{remote.Name}': the stored sign-in was made with another client_id: run {again}");
        if (scopes.Except(login.Scopes, StringComparer.Ordinal).ToList() is { Count: > 0 } missing)
            throw new LoadPipeException(ErrorKind.Auth,
                $"remote '{remote.Name}': the stored sign-in lacks the scope {string.Join(", ", missing)}: run {again}");
        _flow = InstalledAppClient.CreateFlow(remote, login.Scopes);
        if (login is { AccessToken: { } token, AccessTokenExpiresAt: { } expires }) Seed(new AccessToken(token, expires));
    }

    protected override async Task<AccessToken> FetchAsync(CancellationToken cancellationToken)
    {
        // Another lp may have refreshed since, or `lp auth login` replaced the sign-in: start from what is stored.
        var stored = LoadStored();
        if (stored is not null)
        {
            var ours = _login.AccessToken;
            _login = stored;
            if (stored is { AccessToken: { } value, AccessTokenExpiresAt: { } expires } && value != ours && expires - Time.GetUtcNow() > RefreshMargin)
                return new AccessToken(value, expires);
        }
        var response = await TokenEndpointErrors.RunAsync(_remote.Name, TokenEndpointErrors.Grant.RefreshToken, _tokenUrl,
            () => _flow.RefreshTokenAsync(_remote.Name, _login.RefreshToken, cancellationToken), cancellationToken).ConfigureAwait(false);
        var token = new AccessToken(response.AccessToken, InstalledAppClient.ExpiresAt(response, Time));
        _login = _login with
        {
            RefreshToken = response.RefreshToken ?? _login.RefreshToken,
            AccessToken = token.Value,
            AccessTokenExpiresAt = token.ExpiresAt,
        };
        // Not after `lp auth logout`: the run goes on with the token in memory, the sign-in stays deleted.
        if (stored is not null)
        {
            try
            {
                _store.Save(_login);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The token works without being saved; the next run refreshes again.
            }
        }
        return token;
    }

    /// <summary>The remote's stored sign-in as it is now, if it is still there, readable and for the same client.</summary>
    private StoredLogin? LoadStored()
    {
        try
        {
            return _store.Load(_remote.Name, _login.User) is { } stored && stored.ClientId == _login.ClientId ? stored : null;
        }
        catch (LoadPipeException)
        {
            return null;
        }
    }
}
