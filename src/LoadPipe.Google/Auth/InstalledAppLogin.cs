using System.Security.Cryptography;
using Google.Apis.Auth.OAuth2.Requests;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Auth;

/// <summary>
/// `lp auth login NAME`: the installed-app authorization-code flow with PKCE and a loopback redirect
/// (Google's "OAuth 2.0 for iOS and desktop apps"; RFC 8252). The user opens the consent page, the browser comes
/// back to 127.0.0.1 with a code, the code is traded for a refresh token, and that is stored encrypted.
/// </summary>
public sealed class InstalledAppLogin(TokenStore store, TimeProvider? time = null)
{
    /// <summary>How long to wait for the browser to come back.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>
    /// Signs in for <paramref name="remote"/>, asking for <paramref name="scopes"/>, and stores the login. Calls
    /// <paramref name="openConsentPage"/> with the URL the user must open (its redirect_uri is already listening).
    /// <paramref name="user"/>: a user of LoadPipe (seed 003's users) whose sign-in this is, kept apart from the
    /// remote's default one and from every other user's; null for the default.
    /// </summary>
    public async Task<StoredLogin> LoginAsync(RemoteDefinition remote, IReadOnlyList<string> scopes, Action<Uri> openConsentPage,
        TimeSpan? wait = null, string? user = null, CancellationToken cancellationToken = default)
    {
        if (user is not null) TokenStore.CheckUser(user);
        if (remote.Get("service_account_file") is { Length: > 0 })
            throw new LoadPipeException(ErrorKind.Usage,
                $"remote '{remote.Name}' signs in with its service_account_file: lp auth login is for client_id/client_secret remotes");
        using var flow = InstalledAppClient.CreateFlow(remote, scopes);
        var tokenUrl = GoogleEndpoints.TokenUrl(remote);
        using var listener = new LoopbackRedirectListener();

        var request = (GoogleAuthorizationCodeRequestUrl)flow.CreateAuthorizationCodeRequest(listener.RedirectUri, out var codeVerifier);
        request.AccessType = "offline";
        request.State = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        openConsentPage(request.Build());

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait ?? DefaultWait);
        string code;
        try
        {
            code = await listener.WaitForCodeAsync(request.State, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadPipeException(ErrorKind.Auth, $"remote '{remote.Name}': no sign-in came back to {listener.RedirectUri} within {(wait ?? DefaultWait).TotalMinutes:0} minutes");
        }

        var response = await TokenEndpointErrors.RunAsync(remote.Name, TokenEndpointErrors.Grant.Login, tokenUrl,
            () => flow.ExchangeCodeForTokenAsync(remote.Name, code, codeVerifier, listener.RedirectUri, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(response.RefreshToken))
            throw new LoadPipeException(ErrorKind.Auth,
                $"remote '{remote.Name}': {GoogleEndpoints.HostOf(tokenUrl)} gave no refresh token (access_type=offline was asked): remove LoadPipe's access in the Google account's security settings and run lp auth login {remote.Name} again");
        // The exchange fills in the requested scopes when the server does not list the granted ones.
        var granted = (response.Scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Except(granted, StringComparer.Ordinal).ToList() is { Count: > 0 } missing)
            throw new LoadPipeException(ErrorKind.Auth,
                $"remote '{remote.Name}': the sign-in did not grant {string.Join(", ", missing)}: run lp auth login {remote.Name} again and allow every permission asked");

        var login = new StoredLogin
        {
            Remote = remote.Name,
            Type = remote.Type,
            Scopes = granted,
            ClientId = remote.Require("client_id"),
            TokenUrl = tokenUrl,
            RefreshToken = response.RefreshToken,
            AccessToken = response.AccessToken,
            AccessTokenExpiresAt = InstalledAppClient.ExpiresAt(response, _time),
            LoggedInAt = _time.GetUtcNow(),
            User = user,
        };
        store.Save(login);
        return login;
    }
}
