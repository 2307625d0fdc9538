using LoadPipe.Core.Storage;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Support;

/// <summary>Local disk that counts the per-file questions (stat) asked of it.</summary>
public sealed class StatCountingStorage(LocalStorage inner) : IStorage, IRangedReader, ISortedListing, IWritableStorage, IResumableWriter
{
    private int _stats;

    public int Stats => _stats;

    public string Description => inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) => inner.ListAsync(path, recursive, cancellationToken);

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
