namespace LoadPipe.Core.Storage;

/// <summary>
/// A store that knows its content by hash and refuses to hold the same twice (YouTube: a video per content). The
/// engine asks it before it starts a new write, and tells it after each commit what was written.
/// </summary>
public interface IDeduplicatingWriter
{
    /// <summary>
    /// The object this store already holds with the content <paramref name="request"/>'s <see cref="WriteRequest.Hashes"/>
    /// name (and still holds: a store checks), or null when it holds none or no hash is given. When it returns an
    /// object, the engine writes nothing and reports the file as skipped with the object's properties.
    /// </summary>
    Task<ObjectInfo?> FindDuplicateAsync(string path, WriteRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// After a commit: <paramref name="committed"/> holds the content whose hashes <paramref name="written"/> gives
    /// (its <see cref="WriteRequest.Hashes"/> are those of the bytes written, its size theirs).
    /// </summary>
    Task RememberAsync(string path, WriteRequest written, ObjectInfo committed, CancellationToken cancellationToken = default);
}
