namespace LoadPipe.Core.Storage;

/// <summary>
/// A store whose unfinished writes are files of their own beside their target (a local disk's hidden
/// ".NAME.lp-partial"), invisible to <see cref="IStorage.ListAsync"/>: what a writer killed before its commit, and never
/// resumed, leaves behind. A sweeper lists them and removes those no one claims.
/// </summary>
public interface IPartialWrites
{
    /// <summary>The unfinished writes under <paramref name="path"/> (recursively), each as the target path it would
    /// become (relative to <paramref name="path"/>, as <see cref="IStorage.ListAsync"/> gives paths) with its size and the
    /// time of its last write. Nothing when the folder does not exist.</summary>
    IAsyncEnumerable<ObjectInfo> ListPartialsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Removes the unfinished write of <paramref name="targetPath"/>, unless a writer holds it now (then false,
    /// as when there is none): a live write is never removed under its writer.</summary>
    Task<bool> RemovePartialAsync(string targetPath, CancellationToken cancellationToken = default);
}
