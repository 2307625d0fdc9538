using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Support;

/// <summary>
/// Real local storage with faults switched in: after <see cref="CrashAfterWrites"/> chunk writes every write
/// fails for good (as if the process died there), and the first <see cref="TransientWriteFaults"/> writes fail
/// with a transient error. With <see cref="CrashAfterCommit"/> the commit happens (the file gets its final name) and
/// then fails, as a process killed before the manifest recorded it.
/// Its capabilities are the local disk's, so the engine takes the paths it takes there.
/// </summary>
public sealed class FaultyStorage(LocalStorage inner) : IStorage, IHasFeatures, IRangedReader, ICheapReads, ISortedListing, IWritableStorage, IResumableWriter, IObjectRemover
{
    private int _writes;
    private int _transientLeft;

    public int? CrashAfterWrites { get; set; }

    public int TransientWriteFaults { set => _transientLeft = value; }

    public bool CrashAfterCommit { get; set; }

    /// <summary>Called before each chunk write with its index from 0: lets a test act at that point (another process
    /// taking the transfer over).</summary>
    public Func<int, Task>? BeforeWrite { get; set; }

    public int Writes => _writes;

    public StorageFeatures Features => StorageFeatures.Of(inner);

    public string Description => "faulty " + inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
        inner.ListAsync(path, recursive, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        inner.OpenReadAsync(path, options, cancellationToken);

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => inner.CreateFolderAsync(path, cancellationToken);

    public Task<bool> RemoveAsync(string path, CancellationToken cancellationToken = default) => inner.RemoveAsync(path, cancellationToken);

    public async Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) =>
        new Session(this, await inner.BeginWriteAsync(path, request, cancellationToken));

    public async Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request, CancellationToken cancellationToken = default) =>
        await inner.ResumeWriteAsync(path, resumeState, confirmedLength, request, cancellationToken) is { } s ? new Session(this, s) : null;

    private sealed class Session(FaultyStorage owner, IWriteSession inner) : IWriteSession
    {
        public string? ResumeState => inner.ResumeState;
        public int ChunkAlignment => inner.ChunkAlignment;
        public long MinimumWriteSize => inner.MinimumWriteSize;
        public int? PreferredWriteSize => inner.PreferredWriteSize;
        public long Length => inner.Length;

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (owner.BeforeWrite is { } before) await before(owner._writes);
            if (Interlocked.Decrement(ref owner._transientLeft) >= 0)
                throw new LoadPipeException(ErrorKind.Transient, "injected transient fault");
            if (owner.CrashAfterWrites is { } limit && owner._writes >= limit)
                throw new LoadPipeException(ErrorKind.Permanent, "injected crash");
            Interlocked.Increment(ref owner._writes);
            await inner.WriteAsync(data, cancellationToken);
        }

        public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => inner.OpenWrittenAsync(cancellationToken);
        public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
        {
            var committed = await inner.CommitAsync(cancellationToken);
            return owner.CrashAfterCommit ? throw new LoadPipeException(ErrorKind.Permanent, "injected crash after the commit") : committed;
        }
        public Task AbortAsync(CancellationToken cancellationToken = default) => inner.AbortAsync(cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
