using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Support;

/// <summary>Local disk that copies server-side (File.Copy) when the source is itself, and says it can't otherwise.
/// Its other capabilities are the local disk's.</summary>
public sealed class CopyingStorage(LocalStorage inner)
    : IStorage, IHasFeatures, IRangedReader, ICheapReads, ISortedListing, IWritableStorage, IResumableWriter, IServerSideCopier
{
    public int ServerSideCopies { get; private set; }

    /// <summary>False: the store masks its server-side copy, as a wrapper may. Default true.</summary>
    public bool OffersServerSideCopy { get; init; } = true;

    public StorageFeatures Features => StorageFeatures.Of(inner) with { ServerSideCopy = OffersServerSideCopy };

    public string Description => inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) => inner.ListAsync(path, recursive, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) => inner.OpenReadAsync(path, options, cancellationToken);

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => inner.CreateFolderAsync(path, cancellationToken);

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) => inner.BeginWriteAsync(path, request, cancellationToken);

    public Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request, CancellationToken cancellationToken = default) =>
        inner.ResumeWriteAsync(path, resumeState, confirmedLength, request, cancellationToken);

    public async Task<ObjectInfo> CopyFromAsync(IStorage source, string sourcePath, string destinationPath, CancellationToken cancellationToken = default)
    {
        if (!ReferenceEquals(source, this)) throw new CantCopyException("different store");
        Directory.CreateDirectory(Path.GetDirectoryName(destinationPath)!);
        File.Copy(sourcePath, destinationPath, overwrite: true);
        ServerSideCopies++;
        return (await inner.StatAsync(destinationPath, cancellationToken))!;
    }
}
