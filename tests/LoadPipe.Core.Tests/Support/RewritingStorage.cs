using LoadPipe.Core.Storage;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Support;

/// <summary>
/// Real local storage whose first read stream runs <see cref="Rewrite"/> once <see cref="AfterBytes"/> bytes were read
/// from it: the source is changed in the middle of a copy, at a known point, without timing.
/// </summary>
public sealed class RewritingStorage(LocalStorage inner) : IStorage, IRangedReader, ICheapReads
{
    private int _rewritten;

    public required long AfterBytes { get; init; }

    public required Action Rewrite { get; init; }

    public string Description => "rewriting " + inner.Description;

    public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
        inner.ListAsync(path, recursive, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

    public async Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        new Rewriting(this, await inner.OpenReadAsync(path, options, cancellationToken), options.Offset);

    private sealed class Rewriting(RewritingStorage owner, Stream inner, long position) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => After(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            After(await inner.ReadAsync(buffer, cancellationToken));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }

        private int After(int n)
        {
            position += n;
            if (position >= owner.AfterBytes && Interlocked.Exchange(ref owner._rewritten, 1) == 0) owner.Rewrite();
            return n;
        }
    }
}
