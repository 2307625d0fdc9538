using LoadPipe.Core.Manifest;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// The uploads this adapter finished, by path, in the manifest's adapter state (<see cref="IAdapterStateStore"/>): tus
/// names uploads by URL and has no request that finds one by name, so this is how a later run asks whether a path
/// is already there (a HEAD on the recorded upload URL). Scope <c>tus:ENDPOINT</c>, key the path, value a
/// <see cref="TusResumeState"/>'s JSON (the upload URL and its length). Nothing is recorded without a manifest.
/// </summary>
internal sealed class TusFinishedUploads(Func<CancellationToken, Task<IManifest>> manifest, string endpoint)
{
    private string Scope => "tus:" + endpoint;

    public async Task RememberAsync(TusResumeState upload, CancellationToken cancellationToken)
    {
        if (await StoreAsync(cancellationToken).ConfigureAwait(false) is { } store)
            await store.PutStateAsync(Scope, upload.Path, upload.ToJson(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The finished upload recorded for <paramref name="path"/>, or null.</summary>
    public async Task<TusResumeState?> FindAsync(string path, CancellationToken cancellationToken) =>
        await StoreAsync(cancellationToken).ConfigureAwait(false) is { } store
        && await store.GetStateAsync(Scope, path, cancellationToken).ConfigureAwait(false) is { } json
            ? TusResumeState.TryParse(json) : null;

    private async Task<IAdapterStateStore?> StoreAsync(CancellationToken cancellationToken) =>
        await manifest(cancellationToken).ConfigureAwait(false) as IAdapterStateStore;
}
