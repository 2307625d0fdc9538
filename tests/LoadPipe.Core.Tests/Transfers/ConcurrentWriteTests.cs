using LoadPipe.Core.Manifest;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>Sessions that take several chunks at once (S3 parts): the engine keeps a bounded number in flight and
/// confirms them in the manifest in order, whatever order they finish in.</summary>
public sealed class ConcurrentWriteTests : IDisposable
{
    private const int Chunk = 256 << 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TransferOptions Options() => new()
    {
        ChunkSize = Chunk,
        Retries = 0,
    };

    [Fact]
    public async Task CopyAsync_ChunksAcknowledgedOutOfOrder_BytesRightAndConfirmedInOrder()
    {
        var content = TestData.Random(10 * Chunk + 777);
        var source = _dir.Write("src.bin", content);
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var slots = new SlotStorage(_dir.Path, maxWritesInFlight: 3, manifest);

        var summary = await new TransferEngine(manifest).CopyAsync(
            new Location(new LocalStorage(), source, source), new Location(slots, "dst.bin", "slots:dst.bin"), Options());

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(content.Length, summary.BytesSent);
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(File.ReadAllBytes(_dir["dst.bin"])));
        Assert.Equal(3, slots.MostInFlight);
        // When chunk i was handed out, the manifest held a gap-free prefix of confirmed chunks, never one past i - 1.
        Assert.All(slots.Seen, s =>
        {
            Assert.Equal(Enumerable.Range(0, s.Confirmed.Count), s.Confirmed);
            Assert.True(s.Confirmed.Count <= s.Index, $"chunk {s.Index} written after {s.Confirmed.Count} confirmations");
        });
        Assert.Equal(Enumerable.Range(0, 11), slots.Seen.Select(s => s.Index).Order());
    }

    [Fact]
    public async Task CopyAsync_ChunkFailsWhileOthersInFlight_ConfirmsOnlyThePrefixBeforeIt()
    {
        var content = TestData.Random(10 * Chunk);
        var source = _dir.Write("src.bin", content);
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var slots = new SlotStorage(_dir.Path, maxWritesInFlight: 3, manifest) { FailChunk = 4 };

        var summary = await new TransferEngine(manifest).CopyAsync(
            new Location(new LocalStorage(), source, source), new Location(slots, "dst.bin", "slots:dst.bin"), Options());

        Assert.Equal(SessionStatus.Failed, summary.Status);
        Assert.False(File.Exists(_dir["dst.bin"]));
        var transfer = Assert.Single(await manifest.ListTransfersAsync(null).ToListAsync());
        var confirmed = await manifest.GetChunksAsync(transfer.Id);
        Assert.Equal([0, 1, 2, 3], confirmed.Select(c => c.Sequence));
    }
}
