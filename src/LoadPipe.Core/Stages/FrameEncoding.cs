using System.Buffers;

namespace LoadPipe.Core.Stages;

/// <summary>A framed stage that can encode a chunk held in memory in one call, without a stream around it.</summary>
public interface IChunkEncoder : IFramedStage
{
    /// <summary>Appends one complete frame holding <paramref name="input"/> to <paramref name="output"/>. Safe to call
    /// from several threads at once, each with its own output: the framed pump encodes chunks in parallel.</summary>
    void EncodeFrame(ReadOnlySpan<byte> input, IBufferWriter<byte> output);
}

/// <summary>Encodes one chunk into one frame with any framed stage: in one call when it is an
/// <see cref="IChunkEncoder"/>, else through its frame writer, synchronously.</summary>
public static class FrameEncoding
{
    public static void Encode(IFramedStage stage, ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        if (stage is IChunkEncoder encoder)
        {
            encoder.EncodeFrame(input, output);
            return;
        }
        using var frame = stage.CreateFrameWriter(new BufferWriterStream(output));
        frame.Write(input);
    }

    /// <summary>A write-only stream that appends to a buffer writer.</summary>
    private sealed class BufferWriterStream(IBufferWriter<byte> output) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);

        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer.AsSpan(offset, count));

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            output.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>A reusable output buffer for frames. It grows with arrays left uninitialised, so the pages a short frame
/// never reaches are not touched and cost no resident memory, though the encoder asks for room for the worst case.</summary>
public sealed class FrameBuffer : IBufferWriter<byte>
{
    private byte[] _buffer = [];
    private int _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Reset() => _written = 0;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _written) throw new InvalidOperationException("advanced past the end of the buffer");
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written < needed)
        {
            var grown = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max((long)_written + needed, 2L * _buffer.Length)));
            _buffer.AsSpan(0, _written).CopyTo(grown);
            _buffer = grown;
        }
    }
}
