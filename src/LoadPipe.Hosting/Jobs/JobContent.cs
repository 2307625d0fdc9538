using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Storage;

namespace LoadPipe.Hosting.Jobs;

/// <summary>
/// What a one-file job delivers, as a key (issue 15 part 3, seed 003's duplicate check): the content's hash, the job's
/// destination and its stages. The hash is the one the source gives without reading (Drive's and an HTTP server's MD5,
/// an S3 ETag that is an MD5); a source that reads cheaply and more than once (a local file) is read once for its
/// SHA-256 before the transfer. A folder, an empty file, or a stream that can be read only once has no key: it is
/// copied as it is (the engine skips what it finds done).
/// </summary>
internal static class JobContent
{
    public static async Task<string?> KeyAsync(Location source, Location destination, IList<string> stages, CancellationToken cancellationToken)
    {
        var sourceFeatures = StorageFeatures.Of(source.Storage);
        if (sourceFeatures.ReadOnce || StorageFeatures.Of(destination.Storage).KeepsNothing) return null;
        var info = await source.Storage.StatAsync(source.Path, cancellationToken).ConfigureAwait(false);
        if (info is null || info.IsDirectory || info.Size <= 0) return null;
        string hash;
        if (info.Hashes.TryGetValue("sha256", out var sha256)) hash = "sha256:" + sha256;
        else if (info.Hashes.TryGetValue("md5", out var md5)) hash = "md5:" + md5;
        else if (sourceFeatures.CheapReads)
        {
            var stream = await source.Storage.OpenReadAsync(source.Path, new ReadOptions(IfVersion: info.Version), cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
                hash = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }
        else return null;
        return $"{hash}\n{destination.Key}\n{string.Join(StageCatalog.PipelineSeparator, stages)}";
    }

    /// <summary>Whether the destination can say that a delivered object is still there: a store that keeps one copy of
    /// each content (YouTube) answers through the engine instead, which asks it before a write.</summary>
    public static bool CanTell(Location destination) => StorageFeatures.Of(destination.Storage) is { DeduplicatingWriter: false, KeepsNothing: false };

    /// <summary>The delivered object is still at the destination (it may have been deleted since).</summary>
    public static async Task<bool> StillThereAsync(LocationResolver resolver, string delivered, CancellationToken cancellationToken)
    {
        var where = resolver.Resolve(delivered);
        return await where.Storage.StatAsync(where.Path, cancellationToken).ConfigureAwait(false) is { IsDirectory: false };
    }
}
