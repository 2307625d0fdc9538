using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Testing;

/// <summary>
/// A writable store with a process death switched in: after <see cref="CrashAfterWrites"/> chunk writes every write
/// fails for good. With <see cref="SendBeforeCrash"/> the failing write first reaches the store (a chunk the server
/// holds but the manifest never confirmed, such as an S3 part: the harder case for a resume). <see cref="BeforeWrite"/> runs before each write with the count so far
/// (to expire the upload session mid-run). With <see cref="CrashAfterCommit"/> the commit reaches the store (the object
/// is complete) and then fails, as a process killed before the manifest recorded it. Reads, sizes and sessions are
/// otherwise the inner store's.
/// </summary>
public sealed class CrashingWrites(IStorage inner) : IStorage, IRangedReader, IWritableStorage, IResumableWriter
{
    private int _writes;

    public int? CrashAfterWrites { get; set; }

    public bool SendBeforeCrash { get; set; }

    public Action<int>? BeforeWrite { get; set; }

    public bool CrashAfterCommit { get; set; }

    public string Description => "crashing " + inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
        inner.ListAsync(path, recursive, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        inner.OpenReadAsync(path, options, cancellationToken);

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) =>
        ((IWritableStorage)inner).CreateFolderAsync(path, cancellationToken);

    public async Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) =>
        new Session(this, await ((IWritableStorage)inner).BeginWriteAsync(path, request, cancellationToken));

    public async Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default) =>
        await ((IResumableWriter)inner).ResumeWriteAsync(path, resumeState, confirmedLength, request, cancellationToken) is { } s ? new Session(this, s) : null;

    private sealed class Session(CrashingWrites owner, IWriteSession inner) : IWriteSession
    {
        public string? ResumeState => inner.ResumeState;
        public int ChunkAlignment => inner.ChunkAlignment;
        public long MinimumWriteSize => inner.MinimumWriteSize;
        public int? PreferredWriteSize => inner.PreferredWriteSize;
        public long Length => inner.Length;

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            owner.BeforeWrite?.Invoke(owner._writes);
            if (owner.CrashAfterWrites is { } limit && owner._writes >= limit)
            {
                if (owner.SendBeforeCrash) await inner.WriteAsync(data, cancellationToken);
                throw new LoadPipeException(ErrorKind.Permanent, "injected crash");
            }
            await inner.WriteAsync(data, cancellationToken);
            Interlocked.Increment(ref owner._writes);
        }

        public Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            owner.CrashAfterWrites is { } limit && owner._writes >= limit ? WriteAsync(data, cancellationToken) : inner.WriteFinalAsync(data, cancellationToken);

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
