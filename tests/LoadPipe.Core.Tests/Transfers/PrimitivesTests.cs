using LoadPipe.Core.Errors;
using LoadPipe.Core.Filters;
using LoadPipe.Core.Resilience;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Core.Tests.Transfers;

public sealed class PrimitivesTests
{
    [Theory]
    [InlineData("8M", 8L << 20)]
    [InlineData("512K", 512L << 10)]
    [InlineData("1G", 1L << 30)]
    [InlineData("1.5M", 3L << 19)]
    [InlineData("20MiB", 20L << 20)]
    [InlineData("100", 100)]
    public void ByteSize_Valid_Parses(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("8Q")]
    [InlineData("")]
    [InlineData("-1M")]
    [InlineData("M")]
    public void ByteSize_Invalid_Rejected(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Theory]
    [InlineData("a.jpg", true)]
    [InlineData("deep/dir/b.JPG", false)]
    [InlineData("deep/dir/b.jpg", true)]
    [InlineData("raw/x.png", true)]
    [InlineData("other/x.png", false)]
    [InlineData("tmp/y.jpg", false)]
    public void GlobFilter_NameAndPathGlobs(string path, bool kept)
    {
        var filter = new GlobFilter(["*.jpg", "raw/*.{png,gif}"], ["tmp/**"]);

        Assert.Equal(kept, filter.Matches(path));
    }

    [Theory]
    [InlineData("rec/a.WAV", true)]
    [InlineData("rec/b.mp4", true)]
    [InlineData("rec/c.txt", false)]
    [InlineData("rec/noext", false)]
    [InlineData("rec/tmp.wav", false)]
    public void GlobFilter_Extensions_CaseInsensitiveAndCombinedWithExcludes(string path, bool kept)
    {
        var filter = new GlobFilter([], ["tmp.*"], ["wav", ".MP4"]);

        Assert.Equal(kept, filter.Matches(path));
    }

    [Fact]
    public async Task BandwidthLimiter_OverRate_WaitsForTheClock()
    {
        var time = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(1000, time);

        await limiter.WaitAsync(100);
        var blocked = limiter.WaitAsync(1000).AsTask();

        Assert.False(blocked.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(blocked.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(200));
        await blocked;
    }

    [Fact]
    public async Task RetryPolicy_RetryAfter_WaitsWhatTheServerAsked()
    {
        var time = new FakeTimeProvider();
        var delays = new List<TimeSpan>();
        var pipeline = RetryPolicy.Create(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), time, (_, _, d) => delays.Add(d));
        var calls = 0;

        var run = pipeline.ExecuteAsync(_ =>
        {
            if (++calls == 1) throw new LoadPipeException(ErrorKind.Transient, "503") { RetryAfter = TimeSpan.FromSeconds(7) };
            return ValueTask.FromResult(calls);
        }).AsTask();

        Assert.False(run.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.False(run.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await run);
        Assert.Equal([TimeSpan.FromSeconds(7)], delays);
    }

    [Fact]
    public async Task RetryPolicy_PermanentError_NotRetried()
    {
        var pipeline = RetryPolicy.Create(5, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), TimeProvider.System);
        var calls = 0;

        await Assert.ThrowsAsync<LoadPipeException>(() => pipeline.ExecuteAsync<int>(_ =>
        {
            calls++;
            throw new LoadPipeException(ErrorKind.NotFound, "gone");
        }).AsTask());

        Assert.Equal(1, calls);
    }
}
