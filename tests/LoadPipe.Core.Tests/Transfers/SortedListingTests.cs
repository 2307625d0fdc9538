using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

public sealed class SortedListingTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void PathOrder_IsUtf8ByteOrder()
    {
        string[] paths = ["a/b", "a-c", "a.b", "a", "ab", "\uE000", "\U0001F600", "Z", "a/a/z"];

        var sorted = paths.Order(PathOrder.Instance).ToArray();
        var byBytes = paths.OrderBy(p => Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(p)), StringComparer.Ordinal).ToArray();

        Assert.Equal(byBytes, sorted);
    }

    [Fact]
    public async Task LocalListAsync_Recursive_YieldsFilesInPathOrder()
    {
        foreach (var p in new[] { "a-c", "a/b", "a/a/z", "a.b", "b/x", "ab", "a/c-d/e", "a/c/e" })
            _dir.Write("tree/" + p, [1]);

        var files = await new LocalStorage().ListAsync(_dir["tree"], recursive: true).Where(e => !e.IsDirectory).Select(e => e.Path).ToListAsync();

        Assert.Equal(files.Order(PathOrder.Instance).ToList(), files);
        Assert.Equal(8, files.Count);
    }

    private async Task<(TransferSummary Summary, int Stats, int Listed)> CopyTreeAsync(string manifestName, bool trustManifest = true)
    {
        var destination = new StatCountingStorage(new LocalStorage());
        await using var manifest = await SqliteManifest.OpenAsync(_dir[manifestName]);
        var summary = await new TransferEngine(manifest).CopyAsync(
            new Location(new LocalStorage(), _dir["tree"], _dir["tree"]), new Location(destination, _dir["copy"], _dir["copy"]),
            new TransferOptions { ChunkSize = 64 << 10, TrustManifest = trustManifest });
        return (summary, destination.Stats, destination.Listed);
    }

    [Fact]
    public async Task CopyAsync_RerunOfFinishedTree_AsksNothingPerFile()
    {
        for (var i = 0; i < 40; i++) _dir.Write($"tree/d{i % 4}/f{i}.bin", TestData.Random(100 + i, i));
        var first = await CopyTreeAsync("m.db");

        var again = await CopyTreeAsync("m.db");

        Assert.Equal(40, first.Summary.Files);
        Assert.Equal((40, 0L), (again.Summary.FilesSkipped, again.Summary.BytesSent));
        Assert.Equal((0, 0), (again.Stats, again.Listed));
    }

    [Fact]
    public async Task CopyAsync_RerunAfterOneSourceChanged_ListsTheDestinationForThatFileOnly()
    {
        for (var i = 0; i < 40; i++) _dir.Write($"tree/d{i % 4}/f{i:D2}.bin", TestData.Random(100 + i, i));
        await CopyTreeAsync("m.db");
        File.WriteAllBytes(_dir["tree/d0/f00.bin"], TestData.Random(777, 5));

        var again = await CopyTreeAsync("m.db");

        Assert.Equal((39, 777L), (again.Summary.FilesSkipped, again.Summary.BytesSent));
        Assert.Equal(TestData.Random(777, 5), File.ReadAllBytes(_dir["copy/d0/f00.bin"]));
        // d0/f00.bin comes first in path order: the merge stops there, without listing the rest.
        Assert.True(again.Listed <= 2, $"{again.Listed} destination entries listed");
    }

    [Fact]
    public async Task CopyAsync_DestinationFileDeletedAfterFinish_ManifestTrustedUnlessCheckDest()
    {
        for (var i = 0; i < 12; i++) _dir.Write($"tree/f{i:D2}.bin", TestData.Random(300 + i, i));
        await CopyTreeAsync("m.db");
        File.Delete(_dir["copy/f05.bin"]);

        var trusted = await CopyTreeAsync("m.db");
        var stillMissing = !File.Exists(_dir["copy/f05.bin"]);
        var checkedRun = await CopyTreeAsync("m.db", trustManifest: false);

        Assert.Equal((12, 0L), (trusted.Summary.FilesSkipped, trusted.Summary.BytesSent));
        Assert.True(stillMissing);
        Assert.Equal((11, 305L), (checkedRun.Summary.FilesSkipped, checkedRun.Summary.BytesSent));
        Assert.Equal(TestData.Random(305, 5), File.ReadAllBytes(_dir["copy/f05.bin"]));
    }

    [Fact]
    public async Task CopyAsync_TreeAlreadyAtDestinationUnknownToManifest_SkippedFromTheListing()
    {
        for (var i = 0; i < 30; i++) _dir.Write($"tree/d{i % 3}/f{i}.bin", TestData.Random(200 + i, i));
        await CopyTreeAsync("first.db");
        File.WriteAllBytes(_dir["tree/d0/f0.bin"], TestData.Random(555, 99));

        var fresh = await CopyTreeAsync("second.db");

        Assert.Equal((30, 29), (fresh.Summary.Files, fresh.Summary.FilesSkipped));
        Assert.Equal(555, fresh.Summary.BytesSent);
        Assert.Equal(0, fresh.Stats);
        Assert.Equal(TestData.Random(555, 99), File.ReadAllBytes(_dir["copy/d0/f0.bin"]));
    }
}
