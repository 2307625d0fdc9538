namespace LoadPipe.Server.Ingest;

/// <summary>
/// The base of the ingest API's read-only streams that pass an upload's bytes on while doing something with them
/// (hashing and cutting at the size limit, feeding a virus scan or an MD5, compressing): a derived stream writes only
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>. It cannot seek or be written to; the synchronous read
/// waits for the asynchronous one.
/// </summary>
public abstract class ForwardReadStream : Stream
{
    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public sealed override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public sealed override bool CanRead => true;
    public sealed override bool CanSeek => false;
    public sealed override bool CanWrite => false;
    public sealed override long Length => throw new NotSupportedException();

    /// <summary>Not supported unless a derived stream says how many bytes it handed on (setting it never is).</summary>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public sealed override void Flush() { }
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public sealed override void SetLength(long value) => throw new NotSupportedException();
    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
