using System.Security.Cryptography;
using System.Text;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Google.Http;

namespace LoadPipe.Google.Accounts;

/// <summary>
/// Which account a Google remote signs in to (its Drive's root folder id, its YouTube channel id), asked of Google
/// once and kept in the manifest's adapter state (<see cref="IAdapterStateStore"/>), so that a remote is keyed by what
/// it points at (<see cref="IStorageFactory.KeyRootAsync"/>) and a run that sends nothing asks Google nothing.
/// <para>An answer is kept under the remote's name and a hash of its credentials' identity and API address
/// (<see cref="GoogleServices.CredentialIdentity"/>: no token, no secret): signing in again, or with another key file,
/// asks again. Scope <see cref="Scope"/>, key "TYPE:NAME:HASH".</para>
/// </summary>
/// <param name="manifest">The run's manifest, opened on first use; without one, or without adapter state,
/// every process asks once.</param>
public sealed class GoogleAccountIds(GoogleServices google, Func<CancellationToken, Task<IManifest>>? manifest)
{
    public const string Scope = "google:account";

    /// <summary>
    /// The id <paramref name="ask"/> reads from Google for <paramref name="remote"/>, or the one kept from an earlier
    /// ask with the same credentials. Throws as the remote's requests do (Auth when it is not signed in).
    /// </summary>
    /// <param name="api">The API's address (the remote's api_url), part of the identity: a test server is not Google.</param>
    /// <param name="ask">One request with the remote's client, returning the id.</param>
    public async Task<string> GetAsync(RemoteDefinition remote, IReadOnlyList<string> scopes, Uri api,
        Func<GoogleApiClient, CancellationToken, Task<string>> ask, CancellationToken cancellationToken = default)
    {
        var key = $"{remote.Type}:{remote.Name}:{Hash(google.CredentialIdentity(remote) + "\n" + api.AbsoluteUri)}";
        var store = manifest is null ? null : await manifest(cancellationToken).ConfigureAwait(false) as IAdapterStateStore;
        if (store is not null && await store.GetStateAsync(Scope, key, cancellationToken).ConfigureAwait(false) is { Length: > 0 } known)
            return known;
        var id = await ask(new GoogleApiClient(google.Http, google.TokenSourceFor(remote, scopes)), cancellationToken).ConfigureAwait(false);
        if (store is not null) await store.PutStateAsync(Scope, key, id, cancellationToken).ConfigureAwait(false);
        return id;
    }

    private static string Hash(string identity) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)).AsSpan(0, 16));
}
