using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Testing;

/// <summary>
/// A writable store with a process death switched in: after <see cref="CrashAfterWrites"/> chunk writes every write
/// fails for good. With <see cref="SendBeforeCrash"/> the write at the crash point first reaches the store (a chunk
/// the server holds but the manifest never confirmed, such as an S3 part: the harder case for a resume); the writes
/// after it never do. <see cref="BeforeWrite"/> runs before each write with the count so far (to expire the upload
/// session mid-run). With <see cref="CrashAfterCommit"/> the commit reaches the store (the object is complete) and then
/// fails, as a process killed before the manifest recorded it. Everything else is the inner store's, capabilities included: a session that takes several
/// chunks at once stays one, so a crash test runs the parallel path users run.
/// </summary>
public sealed class CrashingWrites(IStorage inner)
    : IStorage, IHasFeatures, IRangedReader, ICheapReads, ISortedListing, IWritableStorage, IResumableWriter, IServerSideCopier, IDeduplicatingWriter
{
    private int _writes;
    private int _parallelWrites;

    public int? CrashAfterWrites { get; set; }

    public bool SendBeforeCrash { get; set; }

    public Action<int>? BeforeWrite { get; set; }

    public bool CrashAfterCommit { get; set; }

    /// <summary>Chunk writes that came through <see cref="IConcurrentWriteSession.WriteChunkAsync"/>: the engine's parallel path.</summary>
    public int ParallelWrites => Volatile.Read(ref _parallelWrites);

    public StorageFeatures Features => StorageFeatures.Of(inner);

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

    public Task<ObjectInfo> CopyFromAsync(IStorage source, string sourcePath, string destinationPath, CancellationToken cancellationToken = default) =>
        ((IServerSideCopier)inner).CopyFromAsync(source, sourcePath, destinationPath, cancellationToken);

    public Task<ObjectInfo?> FindDuplicateAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) =>
        ((IDeduplicatingWriter)inner).FindDuplicateAsync(path, request, cancellationToken);

    public Task RememberAsync(string path, WriteRequest written, ObjectInfo committed, CancellationToken cancellationToken = default) =>
        ((IDeduplicatingWriter)inner).RememberAsync(path, written, committed, cancellationToken);

    /// <summary>Takes the next write's number, and throws when it is past the crash point (after sending it, for the
    /// one at the crash point, with <see cref="SendBeforeCrash"/>). Parallel writes take their numbers in the order
    /// the engine hands the chunks out.</summary>
    private async Task WriteOrCrashAsync(Func<Task> write)
    {
        var number = Interlocked.Increment(ref _writes) - 1;
        BeforeWrite?.Invoke(number);
        if (CrashAfterWrites is { } limit && number >= limit)
        {
            if (SendBeforeCrash && number == limit) await write();
            throw new LoadPipeException(ErrorKind.Permanent, "injected crash");
        }
        await write();
    }

    private bool Crashed => CrashAfterWrites is { } limit && Volatile.Read(ref _writes) >= limit;

    /// <summary>Concurrent exactly when the inner session is: <see cref="MaxWritesInFlight"/> is 1 otherwise, and
    /// the engine then never calls <see cref="WriteChunkAsync"/>.</summary>
    private sealed class Session(CrashingWrites owner, IWriteSession inner) : IConcurrentWriteSession
    {
        public string? ResumeState => inner.ResumeState;
        public int ChunkAlignment => inner.ChunkAlignment;
        public long MinimumWriteSize => inner.MinimumWriteSize;
        public int? PreferredWriteSize => inner.PreferredWriteSize;
        public long Length => inner.Length;
        public int MaxWritesInFlight => inner is IConcurrentWriteSession concurrent ? concurrent.MaxWritesInFlight : 1;

        public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            owner.WriteOrCrashAsync(() => inner.WriteAsync(data, cancellationToken));

        public Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            owner.Crashed ? WriteAsync(data, cancellationToken) : inner.WriteFinalAsync(data, cancellationToken);

        public Task WriteChunkAsync(int index, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref owner._parallelWrites);
            return owner.WriteOrCrashAsync(() => ((IConcurrentWriteSession)inner).WriteChunkAsync(index, offset, data, cancellationToken));
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
