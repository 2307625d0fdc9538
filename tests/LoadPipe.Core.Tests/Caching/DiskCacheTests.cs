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
}
