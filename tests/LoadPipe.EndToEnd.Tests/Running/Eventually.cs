using System.Diagnostics;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary><see cref="Poll"/> for conditions that need a request to check (an S3 listing, a database query).</summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Returns the first value of <paramref name="probe"/> that <paramref name="done"/> accepts; fails the test
    /// with the last value described when none has after <paramref name="timeout"/>, or when <paramref name="giveUp"/>
    /// says waiting is pointless.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, Func<T, string> describe,
        Func<bool>? giveUp = null)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Interval);
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (giveUp?.Invoke() == true)
                Assert.Fail($"stopped waiting after {clock.Elapsed.TotalSeconds:0.0}s: {describe(value)}");
            if (clock.Elapsed > timeout)
                Assert.Fail($"timed out after {timeout.TotalSeconds:0}s: {describe(value)}");
            await timer.WaitForNextTickAsync();
        }
    }
}
