using LoadPipe.Core.Storage;

namespace LoadPipe.Core.Tests.Support;

/// <summary>A real local file presented as a remote source (ranged, not cheap to read), counting the bytes read from it.
/// It reads and lists as the inner store does, but is never written to.</summary>
public sealed class CountingStorage(IStorage inner) : IStorage, IHasFeatures, IRangedReader, ISortedListing
{
    private long _bytesRead;

    public StorageFeatures Features => StorageFeatures.Of(inner) with { CheapReads = false };

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public string Description => "counting " + inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
        inner.ListAsync(path, recursive, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

    public async Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        new Counting(this, await inner.OpenReadAsync(path, options, cancellationToken));

    private sealed class Counting(CountingStorage owner, Stream inner) : Stream
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
