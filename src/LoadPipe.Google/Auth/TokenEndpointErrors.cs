using System.Net;
using Google.Apis.Auth.OAuth2.Responses;
using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Auth;

/// <summary>
/// The token endpoint's answers (RFC 6749 section 5.2 error codes, as Google sends them) as one-line
/// <see cref="LoadPipeException"/>s that say what to do. Messages carry the error code and the endpoint's host, never
/// a token, a secret or the server's free text (which may echo what was sent).
/// </summary>
internal static class TokenEndpointErrors
{
    public enum Grant { Login, RefreshToken, ServiceAccount }

    /// <summary>Runs a token request, translating what can go wrong.</summary>
    public static async Task<T> RunAsync<T>(string remote, Grant grant, string tokenUrl, Func<Task<T>> request, CancellationToken cancellationToken)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (TokenResponseException e)
        {
            throw Map(remote, grant, tokenUrl, e.Error?.Error, e.StatusCode, e);
        }
        catch (HttpRequestException e)
        {
            throw new LoadPipeException(ErrorKind.Transient,
                $"remote '{remote}': cannot reach the token endpoint {GoogleEndpoints.HostOf(tokenUrl)} ({e.HttpRequestError})", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"remote '{remote}': the token endpoint {GoogleEndpoints.HostOf(tokenUrl)} did not answer in time", e);
        }
    }

    internal static LoadPipeException Map(string remote, Grant grant, string tokenUrl, string? error, HttpStatusCode? status, Exception? inner = null)
    {
        var host = GoogleEndpoints.HostOf(tokenUrl);
        var code = (int?)status ?? 0;
        var message = (error, grant) switch
        {
            ("invalid_grant", Grant.RefreshToken) =>
                $"remote '{remote}': the stored sign-in was revoked or has expired (invalid_grant): run lp auth login {remote}",
            ("invalid_grant", Grant.Login) =>
                $"remote '{remote}': the sign-in code was refused (invalid_grant): run lp auth login {remote} again",
            ("invalid_grant", Grant.ServiceAccount) =>
                $"remote '{remote}': {host} refused the service account's signed request (invalid_grant): check service_account_file (a deleted key, or this machine's clock)",
            ("invalid_client" or "unauthorized_client", Grant.ServiceAccount) =>
                $"remote '{remote}': {host} does not know this service account ({error}): check service_account_file",
            ("invalid_client" or "unauthorized_client", _) =>
                $"remote '{remote}': {host} refused the OAuth client ({error}): check the remote's client_id and client_secret",
            ("invalid_scope", _) => $"remote '{remote}': {host} refused the scopes asked for (invalid_scope)",
            _ when code is >= 500 or 429 or 408 => null,
            _ => $"remote '{remote}': {host} refused the token request ({error ?? "no error code"}, HTTP {code})",
        };
        return message is not null
            ? new LoadPipeException(ErrorKind.Auth, message, inner)
            : new LoadPipeException(ErrorKind.Transient, $"remote '{remote}': the token endpoint {host} answered HTTP {code}", inner);
    }
}
