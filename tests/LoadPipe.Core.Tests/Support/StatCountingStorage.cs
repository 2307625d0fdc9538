using LoadPipe.Core.Storage;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Support;

/// <summary>Local disk that counts the per-file questions (stat) asked of it, and the listing entries it yields.</summary>
public sealed class StatCountingStorage(LocalStorage inner) : IStorage, IHasFeatures, IRangedReader, ICheapReads, ISortedListing, IWritableStorage, IResumableWriter
{
    public StorageFeatures Features => StorageFeatures.Of(inner);

    private int _stats;

    private int _listed;

    public int Stats => _stats;

    public int Listed => _listed;

    public string Description => inner.Description;

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entry in inner.ListAsync(path, recursive, cancellationToken))
        {
            Interlocked.Increment(ref _listed);
            yield return entry;
        }
    }

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _stats);
        return inner.StatAsync(path, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) => inner.OpenReadAsync(path, options, cancellationToken);

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => inner.CreateFolderAsync(path, cancellationToken);

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) => inner.BeginWriteAsync(path, request, cancellationToken);

    public Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request, CancellationToken cancellationToken = default) =>
        inner.ResumeWriteAsync(path, resumeState, confirmedLength, request, cancellationToken);
}
