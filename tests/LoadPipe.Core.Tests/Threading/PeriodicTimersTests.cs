using LoadPipe.Core.Threading;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Core.Tests.Threading;

public sealed class PeriodicTimersTests
{
    [Fact]
    public async Task StopOn_TicksUntilCancelled_ThenTheWaitEndsWithFalse()
    {
        var time = new FakeTimeProvider();
        using var cancel = new CancellationTokenSource();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        using var stop = timer.StopOn(cancel.Token);

        var tick = timer.WaitForNextTickAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await tick);

        var waiting = timer.WaitForNextTickAsync();
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();
        Assert.False(await waiting);
        Assert.False(await timer.WaitForNextTickAsync());
    }

    [Fact]
    public async Task StopOn_AlreadyCancelled_TheFirstWaitEndsWithFalse()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        using var stop = timer.StopOn(new CancellationToken(canceled: true));

        Assert.False(await timer.WaitForNextTickAsync());
    }
}
