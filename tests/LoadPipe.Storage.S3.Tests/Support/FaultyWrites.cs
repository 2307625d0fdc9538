using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.S3.Tests.Support;

/// <summary>
/// A writable store with a crash switched in: after <see cref="CrashAfterWrites"/> chunk writes every write fails
/// for good, as if the process died there. With <see cref="CrashAfterSending"/> the failing write first reaches the
/// store (an S3 part the server holds but the manifest never confirmed), which is the harder case for a resume.
/// Everything else, write sizes included, is the inner store's.
/// </summary>
public sealed class FaultyWrites(IStorage inner) : IStorage, IWritableStorage, IResumableWriter
{
    private int _writes;

    public int? CrashAfterWrites { get; set; }

    public bool CrashAfterSending { get; set; }

    public string Description => "faulty " + inner.Description;

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

    private sealed class Session(FaultyWrites owner, IWriteSession inner) : IWriteSession
    {
        public string? ResumeState => inner.ResumeState;
        public int ChunkAlignment => inner.ChunkAlignment;
        public long MinimumWriteSize => inner.MinimumWriteSize;
        public int? PreferredWriteSize => inner.PreferredWriteSize;
        public long Length => inner.Length;

        public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (owner.CrashAfterWrites is { } limit && owner._writes >= limit)
            {
                if (owner.CrashAfterSending) await inner.WriteAsync(data, cancellationToken);
                throw new LoadPipeException(ErrorKind.Permanent, "injected crash");
            }
            await inner.WriteAsync(data, cancellationToken);
            Interlocked.Increment(ref owner._writes);
        }

        public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => inner.OpenWrittenAsync(cancellationToken);
        public Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default) => inner.CommitAsync(cancellationToken);
        public Task AbortAsync(CancellationToken cancellationToken = default) => inner.AbortAsync(cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>A ranged source that counts the bytes read from it, and the offsets reads started at.</summary>
public sealed class CountingReads(IStorage inner) : IStorage, IRangedReader
{
    private long _bytesRead;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public List<long> Offsets { get; } = [];

    public string Description => "counting " + inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
        inner.ListAsync(path, recursive, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

    public async Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        lock (Offsets) Offsets.Add(options.Offset);
        return new Counting(this, await inner.OpenReadAsync(path, options, cancellationToken));
    }

    private sealed class Counting(CountingReads owner, Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
        private int Count(int n) { Interlocked.Add(ref owner._bytesRead, n); return n; }
    }
}
