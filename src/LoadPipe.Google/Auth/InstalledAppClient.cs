using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Flows;
using Google.Apis.Auth.OAuth2.Responses;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Auth;

/// <summary>
/// The installed-app OAuth client of a remote (`client_id`, `client_secret`, `auth_url`, `token_url`) as a
/// Google.Apis.Auth flow with PKCE. The flow's IDataStore is left unset on purpose: the library deletes a stored token on
/// any refused token request, including an `invalid_client` caused by a mistyped client_secret, and LoadPipe wants the
/// login kept until the user replaces or removes it; <see cref="TokenStore"/> is written explicitly instead.
/// </summary>
internal static class InstalledAppClient
{
    public static PkceGoogleAuthorizationCodeFlow CreateFlow(RemoteDefinition remote, IReadOnlyList<string> scopes) =>
        new(new Endpoints(GoogleEndpoints.AuthUrl(remote), GoogleEndpoints.TokenUrl(remote))
        {
            ClientSecrets = new ClientSecrets { ClientId = remote.Require("client_id"), ClientSecret = remote.Require("client_secret") },
            Scopes = scopes,
            // Google returns a refresh token only on a consent page actually shown: ask for it on every login.
            Prompt = "consent",
        });

    /// <summary>When a token response's access token expires, by the source's clock (one hour when the server does not say).</summary>
    public static DateTimeOffset ExpiresAt(TokenResponse response, TimeProvider time) =>
        time.GetUtcNow() + TimeSpan.FromSeconds(response.ExpiresInSeconds is > 0 and { } seconds ? seconds : 3600);

    /// <summary>The library keeps the constructor taking other endpoints protected (it is "for testing at Google");
    /// a remote's auth_url and token_url need it.</summary>
    private sealed class Endpoints(string authUrl, string tokenUrl)
        : GoogleAuthorizationCodeFlow.Initializer(authUrl, tokenUrl, GoogleEndpoints.DefaultRevokeUrl);
}
