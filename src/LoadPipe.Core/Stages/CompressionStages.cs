using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using ZstdSharp;

namespace LoadPipe.Core.Stages;

/// <summary>Shared shape of the encoders: one frame per input chunk when framed, one frame per file when streamed.</summary>
public abstract class FramedEncoderStage : IFramedStage
{
    public abstract string Spec { get; }

    public StageResume Resume => StageResume.Framed;

    public abstract Stream CreateFrameWriter(Stream output);

    public async Task RunAsync(Stream input, Stream output, StageContext context, CancellationToken cancellationToken = default)
    {
        await using var frame = CreateFrameWriter(output);
        await input.CopyToAsync(frame, 1 << 17, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Shared shape of the decoders: deterministic, so resumable by replay.</summary>
public abstract class DecoderStage : IStage
{
    public abstract string Spec { get; }

    public StageResume Resume => StageResume.Replay;

    protected abstract Stream CreateReader(Stream input);

    public async Task RunAsync(Stream input, Stream output, StageContext context, CancellationToken cancellationToken = default)
    {
        await using var reader = CreateReader(input);
        try
        {
            await reader.CopyToAsync(output, 1 << 17, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or ZstdException or InvalidOperationException or EndOfStreamException)
        {
            throw new Errors.LoadPipeException(Errors.ErrorKind.Permanent, $"stage {Spec}: input is not valid ({e.Message.Split('\n')[0]})", e);
        }
    }
}

/// <summary>One zstd frame per chunk, with its content size in the header; native libzstd when it loads, else the
/// managed port (<see cref="ZstdLibrary"/>).</summary>
public sealed class ZstdStage : FramedEncoderStage, IChunkEncoder
{
    private readonly int _level;
    private readonly ZstdNet.CompressionOptions? _native;
    // A compression context holds a few MiB of tables: one is kept per concurrent encode and reused, not made per chunk.
    private readonly ConcurrentBag<FrameCompressor> _compressors = [];

    public ZstdStage(int level = 3) : this(level, ZstdLibrary.IsNativeAvailable) { }

    internal ZstdStage(int level, bool native)
    {
        _level = level;
        _native = native ? new ZstdNet.CompressionOptions(level) : null;
    }

    internal bool IsNative => _native is not null;

    public override string Spec => _level == 3 ? "zstd" : $"zstd:{_level}";

    public override Stream CreateFrameWriter(Stream output) => _native is not null
        ? new ZstdNet.CompressionStream(output, _native)
        : new CompressionStream(output, _level, leaveOpen: true);

    public void EncodeFrame(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        if (!_compressors.TryTake(out var compressor))
            compressor = _native is not null ? new NativeCompressor(_native) : new ManagedCompressor(_level);
        try
        {
            var frame = output.GetSpan(compressor.Bound(input.Length));
            output.Advance(compressor.Wrap(input, frame));
        }
        finally
        {
            _compressors.Add(compressor);
        }
    }

    private abstract class FrameCompressor
    {
        public abstract int Bound(int length);

        public abstract int Wrap(ReadOnlySpan<byte> input, Span<byte> frame);
    }

    private sealed class NativeCompressor(ZstdNet.CompressionOptions options) : FrameCompressor
    {
        private readonly ZstdNet.Compressor _compressor = new(options);

        public override int Bound(int length) => ZstdNet.Compressor.GetCompressBound(length);

        public override int Wrap(ReadOnlySpan<byte> input, Span<byte> frame) => _compressor.Wrap(input, frame);
    }

    private sealed class ManagedCompressor(int level) : FrameCompressor
    {
        private readonly Compressor _compressor = new(level);

        public override int Bound(int length) => Compressor.GetCompressBound(length);

        public override int Wrap(ReadOnlySpan<byte> input, Span<byte> frame) => _compressor.Wrap(input, frame);
    }
}

/// <summary>Decodes concatenated zstd frames with the managed port: ZstdNet's native decoding stream ends quietly
/// on a truncated last frame, where this one fails.</summary>
public sealed class UnzstdStage : DecoderStage
{
    public override string Spec => "unzstd";

    protected override Stream CreateReader(Stream input) => new DecompressionStream(input, leaveOpen: true);
}

public sealed class GzipStage(int level = 6) : FramedEncoderStage
{
    public override string Spec => level == 6 ? "gzip" : $"gzip:{level}";

    public override Stream CreateFrameWriter(Stream output) =>
        new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true);
}

public sealed class GunzipStage : DecoderStage
{
    public override string Spec => "gunzip";

    protected override Stream CreateReader(Stream input) => new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
}

/// <summary>Brotli streams cannot be concatenated, so this encoder is not framed: it resumes by replay.</summary>
public sealed class BrotliStage(int quality = 4) : IStage
{
    public string Spec => quality == 4 ? "brotli" : $"brotli:{quality}";

    public StageResume Resume => StageResume.Replay;

    public async Task RunAsync(Stream input, Stream output, StageContext context, CancellationToken cancellationToken = default)
    {
        await using var encoder = new BrotliStream(output, new BrotliCompressionOptions { Quality = quality }, leaveOpen: true);
        await input.CopyToAsync(encoder, 1 << 17, cancellationToken).ConfigureAwait(false);
    }
}

public sealed class UnbrotliStage : DecoderStage
{
    public override string Spec => "unbrotli";

    protected override Stream CreateReader(Stream input) => new BrotliStream(input, CompressionMode.Decompress, leaveOpen: true);
}
