using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google;

/// <summary>
/// What every Google adapter shares in one process: the HTTP client and the credentials of each remote (an
/// installed-app login from the encrypted token store, or a service account). One instance per process.
/// </summary>
public sealed class GoogleServices
{
    public GoogleServices(HttpClient http) => Http = http;

    public HttpClient Http { get; }

    /// <summary>
    /// The access tokens for <paramref name="remote"/> with <paramref name="scopes"/>: from its
    /// `service_account_file`, else from the token `lp auth login NAME` stored. Throws an
    /// <see cref="ErrorKind.Auth"/> error naming `lp auth login NAME` when there is neither.
    /// </summary>
    public IAccessTokenSource TokenSourceFor(RemoteDefinition remote, IReadOnlyList<string> scopes) =>
        throw new LoadPipeException(ErrorKind.Auth, $"remote '{remote.Name}': Google sign-in is not available yet");
}
