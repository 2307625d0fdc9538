using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.S3.Tests.Support;

/// <summary>A ranged source that counts the bytes read from it, and the offsets reads started at. It reads and lists
/// as the inner store does, but is never written to.</summary>
public sealed class CountingReads(IStorage inner) : IStorage, IHasFeatures, IRangedReader, ICheapReads, ISortedListing
{
    private long _bytesRead;

    public StorageFeatures Features => StorageFeatures.Of(inner);

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
