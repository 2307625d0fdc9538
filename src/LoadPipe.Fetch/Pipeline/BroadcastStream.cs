using System.IO.Pipelines;

namespace LoadPipe.Fetch.Pipeline;

/// <summary>
/// The write end that feeds the same bytes to each streaming processor's pipe. A write returns when every pipe took
/// the bytes, so the slowest reader sets the pace of the download (back-pressure, bounded memory: each pipe holds at
/// most its pause threshold). A reader that stopped (its processor ended or failed) is left out of the next writes.
/// </summary>
internal sealed class BroadcastStream(IReadOnlyList<PipeWriter> writers) : Stream
{
    private readonly bool[] _closed = new bool[writers.Count];

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < writers.Count; i++)
        {
            if (_closed[i]) continue;
            var flushed = await writers[i].WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (flushed.IsCompleted) _closed[i] = true;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Ends every pipe: at the end of the bytes, or with <paramref name="error"/>, which each reader then gets.</summary>
    public async ValueTask CompleteAsync(Exception? error = null)
    {
        foreach (var writer in writers) await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
