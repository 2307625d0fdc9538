using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;

namespace LoadPipe.Server.Ingest.Compression;

/// <summary>
/// Selective compression of uploaded files (docs/ingest.md, "Compression"): which files are compressed, with what, and
/// the streams that compress them on their way to the element and decompress them on their way back.
/// </summary>
public static class StoredCompression
{
    public const string Brotli = "brotli";
    public const string Gzip = "gzip";

    public static readonly IReadOnlyList<string> Algorithms = [Brotli, Gzip];

    /// <summary>
    /// The types worth compressing: text and the seed's documents (PDF, Word's OLE2 files, RTF), and uncompressed
    /// images (BMP, SVG). Never the types that are compressed already: JPEG, PNG, GIF, WebP, archives (ZIP, gzip, zstd,
    /// 7z, RAR, bzip2, xz), audio and video, and Office Open XML / OpenDocument files (the seed's "DOCX"), which are ZIP
    /// containers of deflated parts.
    /// </summary>
    public static bool IsCompressible(string mime) =>
        mime.StartsWith("text/", StringComparison.Ordinal)
        || mime is "application/pdf" or "application/msword" or "application/rtf" or "application/xml" or "application/json"
            or "image/svg+xml" or "image/bmp";

    /// <summary>The most a read-ahead holds: past it, a file of unknown length is taken as large enough to compress.</summary>
    public const int ReadAheadLimit = 16 << 20;

    /// <summary>
    /// For a file of unknown length (a chunked body, a file of a batch) whose type is compressible: reads on from
    /// <paramref name="head"/> (the bytes already read) until <paramref name="minSize"/> bytes (at most
    /// <see cref="ReadAheadLimit"/>, or the size limit and one) or the end. Returns the bytes read, to be stored first,
    /// and the file's size when it ended within them, or a size of at least <paramref name="minSize"/> when it did not.
    /// The memory held is bounded by the smaller of <paramref name="minSize"/> and the read-ahead limit; a small file
    /// is held whole (it is under that bound), a large one never is.
    /// </summary>
    public static async Task<(ReadOnlyMemory<byte> Head, long Size)> ReadAheadAsync(Stream body, ReadOnlyMemory<byte> head, long minSize, long maxFileSize,
        CancellationToken cancellationToken)
    {
        var want = (int)Math.Min(Math.Min(minSize, ReadAheadLimit), maxFileSize + 1);
        if (head.Length >= want) return (head, Math.Max(head.Length, minSize));
        var buffer = GC.AllocateUninitializedArray<byte>(want);
        head.CopyTo(buffer);
        var read = head.Length + await body.ReadAtLeastAsync(buffer.AsMemory(head.Length), want - head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        // Ended before the bound: its size is known. Else it is at least the bound, which is compression_min_size unless
        // the read-ahead limit cut it short (then the file is taken as large enough).
        return (buffer.AsMemory(0, read), read < want ? read : Math.Max(read, minSize));
    }

    /// <summary>The suffix the stored object's name gets, so that the element's folder says what its bytes are.</summary>
    public static string Suffix(string algorithm) => algorithm == Gzip ? ".gz" : ".br";

    /// <summary>A stream giving the original bytes of a stored object compressed with <paramref name="algorithm"/>.</summary>
    public static Stream Decompress(Stream stored, string algorithm) => algorithm switch
    {
        Brotli => new BrotliStream(stored, CompressionMode.Decompress),
        Gzip => new GZipStream(stored, CompressionMode.Decompress),
        _ => throw new InvalidDataException($"unknown compression '{algorithm}'"),
    };

    internal static Stream Compressor(Stream output, string algorithm) => algorithm switch
    {
        // Fastest (Brotli quality 1, gzip level 1): an upload is not slowed much below the disk's pace.
        Gzip => new GZipStream(output, CompressionLevel.Fastest),
        _ => new BrotliStream(output, CompressionLevel.Fastest),
    };
}

/// <summary>
/// A read-only stream of <paramref name="source"/>'s bytes compressed, for a store that pulls its input (the push
/// entry's append). A pump copies the source through the compressor into a pipe of at most 1 MiB, which the reader
/// drains: the file is never held whole. The pump starts at the first read, so that nothing is taken from the source
/// before the store asks. An error of the source (a size limit) reaches the reader as itself.
/// </summary>
public sealed class CompressingReadStream(Stream source, string algorithm) : ForwardReadStream
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
    private readonly CancellationTokenSource _stop = new();
    private Stream? _compressed;
    private Task? _pump;
    private long _written;

    /// <summary>Compressed bytes handed on so far.</summary>
    public long CompressedBytes => _written;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_pump is null)
        {
            _compressed = _pipe.Reader.AsStream(leaveOpen: true);
            _pump = Task.Run(() => PumpAsync(_stop.Token), CancellationToken.None);
        }
        var n = await _compressed!.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _written += n;
        return n;
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            var output = _pipe.Writer.AsStream(leaveOpen: true);
            await using (output.ConfigureAwait(false))
            {
                var compressor = StoredCompression.Compressor(output, algorithm);
                await using (compressor.ConfigureAwait(false))
                {
                    int n;
                    while ((n = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        await compressor.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
            }
            await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await _pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override long Position { get => _written; set => throw new NotSupportedException(); }

    /// <summary>Stops the pump (it reads no more of the source) and waits for it.</summary>
    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
        if (_pump is not null) await _pump.ConfigureAwait(false);
        _stop.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _pipe.Reader.Complete();
            _pump?.GetAwaiter().GetResult();
            _stop.Dispose();
        }
        base.Dispose(disposing);
    }
}
