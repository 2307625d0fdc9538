using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Streams;

/// <summary>
/// A network body that fails a read getting no byte within <paramref name="idleTimeout"/> as a transient error (a
/// stalled connection never ends by itself; the engine then reopens the source at the offset it reached), and
/// disposes <paramref name="owner"/> (the response) with the body so the connection returns to the pool.
/// </summary>
public sealed class IdleTimeoutStream(Stream body, IDisposable? owner, TimeSpan idleTimeout, string where) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        var rented = new byte[buffer.Length];
        var n = ReadAsync(rented).AsTask().GetAwaiter().GetResult();
        rented.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (idleTimeout <= TimeSpan.Zero || idleTimeout == Timeout.InfiniteTimeSpan)
            return await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
        try
        {
            return await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{where}: no data for {idleTimeout.TotalSeconds:0.###}s", e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            body.Dispose();
            owner?.Dispose();
        }
        base.Dispose(disposing);
    }
}
