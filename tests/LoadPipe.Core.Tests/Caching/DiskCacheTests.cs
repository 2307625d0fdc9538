using LoadPipe.Core.Caching;
using LoadPipe.Core.Tests.Support;

namespace LoadPipe.Core.Tests.Caching;

public sealed class DiskCacheTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private long BytesOnDisk() => Directory.EnumerateFiles(_dir["cache"]).Sum(f => new FileInfo(f).Length);

    [Fact]
    public async Task Put_OverLimit_EvictsLeastRecentlyUsedAndNeverExceeds()
    {
        var cache = new DiskCache(_dir["cache"], 250);
        await cache.PutAsync("a", new byte[100]);
        await cache.PutAsync("b", new byte[100]);
        using (cache.TryOpen("a")) { }

        await cache.PutAsync("c", new byte[100]);

        Assert.True(cache.Size <= 250);
        Assert.True(BytesOnDisk() <= 250);
        using var a = cache.TryOpen("a");
        using var b = cache.TryOpen("b");
        using var c = cache.TryOpen("c");
        Assert.NotNull(a);
        Assert.Null(b);
        Assert.NotNull(c);
    }

    [Fact]
    public async Task Put_LargerThanLimit_NotAdmitted()
    {
        var cache = new DiskCache(_dir["cache"], 50);

        Assert.False(await cache.PutAsync("big", new byte[51]));
        Assert.Null(cache.TryOpen("big"));
        Assert.Equal(0, BytesOnDisk());
    }

    [Fact]
    public async Task Reopen_SmallerLimit_EvictsDownToIt()
    {
        var first = new DiskCache(_dir["cache"], 1000);
        for (var i = 0; i < 5; i++) await first.PutAsync("k" + i, TestData.Random(100, i));

        var second = new DiskCache(_dir["cache"], 250);

        Assert.Equal(200, second.Size);
        Assert.Equal(200, BytesOnDisk());
        using var newest = second.TryOpen("k4");
        Assert.NotNull(newest);
        var bytes = new byte[100];
        newest.ReadExactly(bytes);
        Assert.Equal(TestData.Random(100, 4), bytes);
    }

    [Fact]
    public async Task Put_ManyAtOnce_StaysWithinLimit()
    {
        var cache = new DiskCache(_dir["cache"], 1000);

        await Parallel.ForEachAsync(Enumerable.Range(0, 64), async (i, ct) => await cache.PutAsync("k" + i, new byte[97], ct));

        Assert.True(cache.Size <= 1000);
        Assert.True(BytesOnDisk() <= 1000);
    }

    [Fact]
    public async Task Put_WhileTheOldestEntryIsBeingRead_EvictsOnlyEntriesNotInUse()
    {
        var cache = new DiskCache(_dir["cache"], 250);
        await cache.PutAsync("a", TestData.Random(100, 1));
        await cache.PutAsync("b", new byte[100]);
        await using var reading = cache.TryOpen("a")!;

        var admitted = await cache.PutAsync("c", new byte[100]);
        var full = await cache.PutAsync("d", new byte[200]);

        Assert.True(admitted);
        Assert.False(full); // "a" is in use: evicting "c" would not make room, so it stays
        var bytes = new byte[100];
        reading.ReadExactly(bytes);
        Assert.Equal(TestData.Random(100, 1), bytes);
        Assert.Null(cache.TryOpen("b"));
        using (var c = cache.TryOpen("c")) Assert.NotNull(c);
        Assert.True(cache.Size <= 250);
    }

    [Fact]
    public async Task NewFile_ReservedRoom_IsNeverEvictedAndTheNextFileWaitsUntilItIsGone()
    {
        var cache = new DiskCache(_dir["cache"], 250);
        await cache.PutAsync("old", new byte[100]);
        var first = cache.NewFile();
        await first.ReserveAsync(200);
        File.WriteAllBytes(first.Path, new byte[200]);

        var second = cache.NewFile();
        var waiting = second.ReserveAsync(100).AsTask();
        var put = await cache.PutAsync("new", new byte[100]);

        Assert.Null(cache.TryOpen("old")); // an entry not in use made room for the file
        Assert.False(put);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(200, new FileInfo(first.Path).Length);
        first.Dispose();
        await waiting;
        Assert.False(File.Exists(first.Path));
        Assert.Equal(100, cache.Size);
        second.Dispose();
        Assert.Equal(0, cache.Size);
    }

    [Fact]
    public async Task NewFile_LargerThanTheLimit_IsLetInAloneAndMovedOutGivesTheRoomBack()
    {
        var cache = new DiskCache(_dir["cache"], 100);
        var big = cache.NewFile();
        await big.ReserveAsync(300);
        File.WriteAllBytes(big.Path, TestData.Random(300, 2));
        var next = cache.NewFile();
        var waiting = next.ReserveAsync(10).AsTask();

        Assert.False(waiting.IsCompleted);
        big.MoveTo(_dir["kept.bin"]);
        await waiting;
        Assert.Equal(TestData.Random(300, 2), File.ReadAllBytes(_dir["kept.bin"]));
        Assert.Equal(10, cache.Size);
    }
}
