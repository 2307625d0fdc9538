using System.IO.Hashing;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Core.Tests.Transfers;

public sealed class ConfirmedChunkVerifierTests
{
    private static readonly byte[] Data = [.. Enumerable.Range(0, 1000).Select(i => (byte)(i * 31 + 7))];

    /// <summary>Chunks of the given lengths over <see cref="Data"/>, each with the XXH3 of its bytes.</summary>
    private static List<ChunkRecord> Chunks(params int[] lengths)
    {
        var chunks = new List<ChunkRecord>();
        long offset = 0;
        foreach (var length in lengths)
        {
            chunks.Add(new ChunkRecord(chunks.Count, offset, length, null, Convert.ToHexStringLower(XxHash3.Hash(Data.AsSpan((int)offset, length)))));
            offset += length;
        }
        return chunks;
    }

    [Fact]
    public void Append_MatchingBytesInPiecesAcrossChunkEnds_TakesThemAllAndIsDone()
    {
        var verifier = new ConfirmedChunkVerifier(Chunks(100, 250, 50));

        var taken = verifier.Append(Data.AsSpan(0, 73)) + verifier.Append(Data.AsSpan(73, 200)) + verifier.Append(Data.AsSpan(273, 127));

        Assert.Equal(400, taken);
        Assert.Equal((3, true, 400L), (verifier.Checked, verifier.Done, verifier.Position));
    }

    [Fact]
    public void Append_BytesPastTheLastChunk_TakesOnlyUpToItsEnd()
    {
        var verifier = new ConfirmedChunkVerifier(Chunks(100, 100));

        var taken = verifier.Append(Data.AsSpan(0, 350));

        Assert.Equal(200, taken);
        Assert.True(verifier.Done);
    }

    [Fact]
    public void Append_ByteChangedInTheSecondChunk_ThrowsResumeMismatchWithTheFirstAsGood()
    {
        var verifier = new ConfirmedChunkVerifier(Chunks(100, 100, 100));
        var changed = Data[..300];
        changed[150] ^= 1;

        var e = Assert.Throws<ResumeMismatchException>(() => verifier.Append(changed));

        Assert.Equal(1, e.GoodChunks);
        Assert.Contains("bytes 100-199", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Append_FromALaterChunkWithItsOwnMismatch_StartsAtItsOffsetAndThrowsWhatTheCallerMakes()
    {
        var verifier = new ConfirmedChunkVerifier(Chunks(100, 100, 100), first: 2, (chunk, index) => new SourceChangedException($"chunk {index} at {chunk.Offset}"));
        var changed = Data[200..300];
        changed[0] ^= 1;

        Assert.Equal(200L, verifier.Position);
        var e = Assert.Throws<SourceChangedException>(() => verifier.Append(changed));
        Assert.Contains("chunk 2 at 200", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_StreamOfTheConfirmedBytes_Passes()
    {
        await ConfirmedChunkVerifier.CheckAsync(new MemoryStream(Data[100..400]), Chunks(100, 100, 100, 100), first: 1, CancellationToken.None);
    }

    [Fact]
    public async Task CheckAsync_StreamShorterThanConfirmed_ThrowsResumeMismatchCountingTheGoodChunks()
    {
        var e = await Assert.ThrowsAsync<ResumeMismatchException>(() =>
            ConfirmedChunkVerifier.CheckAsync(new MemoryStream(Data[..150]), Chunks(100, 100), first: 0, CancellationToken.None));

        Assert.Equal(1, e.GoodChunks);
        Assert.Contains("fewer bytes", e.Message, StringComparison.Ordinal);
    }
}
