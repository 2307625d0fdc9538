using Amazon.S3.Model;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.S3;

/// <summary>
/// The body of a GetObject: disposes the response with it, so the connection returns to the pool, and fails a
/// read that gets no byte within the idle timeout as transient (a stalled connection never ends by itself; the
/// engine then reopens the object at the offset it reached).
/// </summary>
internal sealed class S3ResponseStream(GetObjectResponse response, TimeSpan idleTimeout, string where) : Stream
{
    private readonly Stream _body = response.ResponseStream;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
        try
        {
            return await _body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{where}: no data for {idleTimeout.TotalSeconds:0.###}s", e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _body.Dispose();
            response.Dispose();
        }
        base.Dispose(disposing);
    }
}
