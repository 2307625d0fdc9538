using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>
/// The group commit of small files (<see cref="GroupCommit"/>) when the manifest fails under a batch: the batches are
/// made durable on one chain and recorded on another, so batches behind the failed record may already be renamed. Each
/// file is then recorded complete and whole, or at its final name with the source's bytes and unrecorded, or not there
/// at all; and the next run finishes the rest.
/// </summary>
public sealed class GroupCommitTests : IDisposable
{
    private const int Files = 2_000;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CopyAsync_ManifestFailsUnderABatch_RecordedAndRenamedFilesAreWhole_AndTheNextRunFinishesTheRest()
    {
        var expected = new Dictionary<string, byte[]>(Files);
        for (var i = 0; i < Files; i++)
        {
            var relative = Path.Combine($"d{i % 4}", $"f{i:D4}");
            expected[relative] = TestData.Random(i % 50 == 0 ? 0 : 1 + i % 200, seed: i);
            _dir.Write(Path.Combine("in", relative), expected[relative]);
        }
        var local = new LocalStorage();
        var from = new Location(local, _dir["in"], _dir["in"]);
        var to = new Location(local, _dir["out"], _dir["out"]);
        var options = new TransferOptions { Transfers = 16 };

        await using (var manifest = new DelayedConfirmations(await SqliteManifest.OpenAsync(_dir["manifest.db"])) { BatchCompletionsBeforeCutOff = 2 })
        {
            var failed = await Assert.ThrowsAsync<ManifestFailedException>(() => new TransferEngine(manifest).CopyAsync(from, to, options));
            Assert.Contains("manifest", failed.Message, StringComparison.OrdinalIgnoreCase);
        }

        var recorded = await RecordedAsync();
        Assert.InRange(recorded.Count, 1, Files - 1);
        foreach (var (path, sha256) in recorded)
        {
            // Recorded complete: at its final name, with the bytes recorded, which are the source's.
            var relative = Path.GetRelativePath(_dir["out"], path);
            Assert.Equal(TestData.Sha256(expected[relative]), sha256);
            Assert.Equal(expected[relative], File.ReadAllBytes(path));
        }
        // Renamed by a batch behind the failed record, unrecorded: whole all the same.
        var named = FinalNames().ToList();
        Assert.True(named.Count >= recorded.Count);
        foreach (var path in named) Assert.Equal(expected[Path.GetRelativePath(_dir["out"], path)], File.ReadAllBytes(path));

        await using (var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]))
        {
            var again = await new TransferEngine(manifest).CopyAsync(from, to, options);
            Assert.Equal((SessionStatus.Completed, Files, 0), (again.Status, again.Files, again.FilesFailed));
            // The recorded files are settled, the renamed ones adopted by size and time: neither is sent again.
            Assert.True(again.FilesSkipped >= named.Count, $"{named.Count} files were at their final names, {again.FilesSkipped} skipped");
        }
        var copied = FinalNames().ToList();
        Assert.Equal(Files, copied.Count);
        foreach (var path in copied) Assert.Equal(expected[Path.GetRelativePath(_dir["out"], path)], File.ReadAllBytes(path));
        Assert.Empty(Directory.EnumerateFiles(_dir["out"], "*" + LocalStorage.PartialSuffix, SearchOption.AllDirectories));
        Assert.Equal(Files, (await RecordedAsync()).Count);
    }

    private IEnumerable<string> FinalNames() =>
        Directory.Exists(_dir["out"])
            ? Directory.EnumerateFiles(_dir["out"], "*", SearchOption.AllDirectories).Where(p => !p.EndsWith(LocalStorage.PartialSuffix, StringComparison.Ordinal))
            : [];

    /// <summary>Each transfer recorded completed: its destination path and recorded SHA-256.</summary>
    private async Task<List<(string Path, string Sha256)>> RecordedAsync()
    {
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var files = new List<(string, string)>();
        await foreach (var transfer in manifest.ListTransfersAsync(null))
            // The key is the destination's path, or a file:// URL ending in it.
            if (transfer.Status == TransferStatus.Completed)
                files.Add((transfer.Key.Destination[transfer.Key.Destination.IndexOf(_dir["out"], StringComparison.Ordinal)..], transfer.Sha256!));
        return files;
    }
}
