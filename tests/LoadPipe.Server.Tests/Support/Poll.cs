using System.Diagnostics;

namespace LoadPipe.Server.Tests.Support;

/// <summary>Waits for a condition, checking it every few milliseconds until a generous deadline; never a fixed sleep.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!await condition())
        {
            if (clock.Elapsed > limit) Assert.Fail($"timed out after {limit.TotalSeconds:0}s: {describe()}");
            await timer.WaitForNextTickAsync();
        }
    }
}
