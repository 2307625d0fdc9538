using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>
/// The re-run of a folder copy over more files than one lookup batch (500): the planner looks a batch up while it
/// lists the next, and settles unchanged files without a worker. A file changed in size or in modified time between
/// the runs, in any batch, must still be sent again.
/// </summary>
public sealed class NoOpRerunTests : IDisposable
{
    private const int Files = 1234;
    private static readonly DateTime Time = new(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Source(int i) => _dir[$"src/d{i / 400}/f{i:D5}"];

    private string Copied(int i) => _dir[$"out/d{i / 400}/f{i:D5}"];

    private async Task<TransferSummary> CopyAsync()
    {
        var local = new LocalStorage();
        var (from, to) = (_dir["src"], _dir["out"] + "/");
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        return await new TransferEngine(manifest).CopyAsync(new Location(local, from, from), new Location(local, to, to, IsFolderHint: true),
            new TransferOptions { Transfers = 4 });
    }

    private void AssertCopiesMatch()
    {
        for (var i = 0; i < Files; i++)
            Assert.Equal(TestData.Sha256(File.ReadAllBytes(Source(i))), TestData.Sha256(File.ReadAllBytes(Copied(i))));
    }

    [Fact]
    public async Task Rerun_ManyBatches_UnchangedSkipped_ChangedInSizeOrTimeInAnyBatchSentAgain()
    {
        for (var i = 0; i < Files; i++)
        {
            _dir.Write($"src/d{i / 400}/f{i:D5}", TestData.Random(16, seed: i));
            File.SetLastWriteTimeUtc(Source(i), Time);
        }
        var first = await CopyAsync();
        Assert.Equal((SessionStatus.Completed, Files, 0), (first.Status, first.Files, first.FilesSkipped));

        var noop = await CopyAsync();
        Assert.Equal((SessionStatus.Completed, Files, Files, 0L), (noop.Status, noop.Files, noop.FilesSkipped, noop.BytesSent));

        // First batch: same size, other bytes, modified time moved. Second batch: one byte more, time put back. Last
        // (partial) batch: same size, other bytes, only the time moved by a second. The batch boundaries: 500, 1000.
        File.WriteAllBytes(Source(3), TestData.Random(16, seed: 100_003));
        File.SetLastWriteTimeUtc(Source(3), Time.AddMinutes(5));
        File.WriteAllBytes(Source(777), TestData.Random(17, seed: 100_777));
        File.SetLastWriteTimeUtc(Source(777), Time);
        File.WriteAllBytes(Source(1233), TestData.Random(16, seed: 101_233));
        File.SetLastWriteTimeUtc(Source(1233), Time.AddSeconds(1));

        var changed = await CopyAsync();

        Assert.Equal((SessionStatus.Completed, Files, Files - 3, 16L + 17 + 16), (changed.Status, changed.Files, changed.FilesSkipped, changed.BytesSent));
        AssertCopiesMatch();
        var settled = await CopyAsync();
        Assert.Equal((Files, 0L), (settled.FilesSkipped, settled.BytesSent));
    }
}
