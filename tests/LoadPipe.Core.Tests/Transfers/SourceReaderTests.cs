using LoadPipe.Core.Resilience;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Storage.Local;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Core.Tests.Transfers;

public sealed class SourceReaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ReadAsync_SmallSourceUnderBandwidthLimit_ChargesOnlyTheBytesRead()
    {
        var path = _dir.Write("small.bin", TestData.Random(8 << 10));
        var time = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(1 << 20, time);
        await using var reader = new SourceReader(new LocalStorage(), StorageFeatures.Of(new LocalStorage()), path, null, 0, RetryPolicy.Create(0, TimeSpan.Zero, TimeSpan.Zero, time), limiter);
        var buffer = new byte[1 << 20];

        // 8 KiB at 1 MiB/s is within the limiter's burst: no fake time has to pass. Charging the 1 MiB asked for
        // would wait for the clock, which never moves here (the guard below would fail the test).
        var first = await reader.ReadAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var end = await reader.ReadAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((8 << 10, 0), (first, end));
    }
}
