using System.Buffers;
using System.IO.Hashing;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// Checks bytes against the XXH3 the manifest recorded for confirmed chunks, as they stream past in order: the one
/// check behind every resume (the destination's bytes read back, the output regenerated from the source, an upload's
/// bytes read back at completion). Bytes are given in order from the first chunk's offset; each chunk is compared as
/// soon as its last byte arrives.
/// </summary>
internal sealed class ConfirmedChunkVerifier
{
    private readonly IReadOnlyList<ChunkRecord> _chunks;
    private readonly Func<ChunkRecord, int, Exception> _mismatch;
    private readonly XxHash3 _hash = new();
    private int _index;

    /// <param name="chunks">The confirmed chunks, in order, contiguous.</param>
    /// <param name="first">The first chunk to check: bytes start at its offset.</param>
    /// <param name="mismatch">The exception for a chunk whose bytes differ, given the chunk and its index; default a
    /// <see cref="ResumeMismatchException"/> naming its byte range, with the chunks before it as good.</param>
    public ConfirmedChunkVerifier(IReadOnlyList<ChunkRecord> chunks, int first = 0, Func<ChunkRecord, int, Exception>? mismatch = null)
    {
        _chunks = chunks;
        _index = first;
        _mismatch = mismatch ?? ((chunk, index) => new ResumeMismatchException($"bytes {chunk.Offset}-{chunk.End - 1} do not match what was confirmed earlier", index));
        Position = first < chunks.Count ? chunks[first].Offset : chunks.Count > 0 ? chunks[^1].End : 0;
    }

    /// <summary>The offset of the next byte expected.</summary>
    public long Position { get; private set; }

    /// <summary>The index of the next chunk to check: every chunk before it matched.</summary>
    public int Checked => _index;

    /// <summary>True once every chunk has been checked and matched.</summary>
    public bool Done => _index >= _chunks.Count;

    /// <summary>
    /// Checks <paramref name="data"/>, the bytes from <see cref="Position"/>, up to the last chunk's end. Returns how many
    /// bytes it took: all of them, or fewer once <see cref="Done"/> (the rest lies past what was confirmed). Throws the
    /// mismatch exception for a chunk that differs.
    /// </summary>
    public int Append(ReadOnlySpan<byte> data)
    {
        var taken = 0;
        while (taken < data.Length && !Done)
        {
            var chunk = _chunks[_index];
            var n = (int)Math.Min(data.Length - taken, chunk.End - Position);
            _hash.Append(data.Slice(taken, n));
            Position += n;
            taken += n;
            if (Position < chunk.End) continue;
            var actual = Convert.ToHexStringLower(_hash.GetCurrentHash());
            _hash.Reset();
            if (actual != chunk.Checksum) throw _mismatch(chunk, _index);
            _index++;
        }
        return taken;
    }

    /// <summary>
    /// Reads chunks <paramref name="first"/> on from <paramref name="stream"/> (positioned at the first one's offset)
    /// and checks each. A stream that ends early throws a <see cref="ResumeMismatchException"/>, as a mismatch does.
    /// </summary>
    public static async Task CheckAsync(Stream stream, IReadOnlyList<ChunkRecord> chunks, int first, CancellationToken cancellationToken)
    {
        var verifier = new ConfirmedChunkVerifier(chunks, first);
        if (verifier.Done) return;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (!verifier.Done)
            {
                var want = (int)Math.Min(buffer.Length, chunks[^1].End - verifier.Position);
                var n = await stream.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    throw new ResumeMismatchException($"the destination holds fewer bytes than the manifest confirmed ({verifier.Position})", verifier.Checked);
                verifier.Append(buffer.AsSpan(0, n));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
