using System.Diagnostics;

namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>Waits for a condition by checking it every few milliseconds until a deadline; never a fixed sleep.</summary>
public static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns as soon as <paramref name="condition"/> holds; fails the test with <paramref name="describe"/>'s
    /// text when it still does not after <paramref name="timeout"/>, or when <paramref name="giveUp"/> says waiting is pointless.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe, Func<bool>? giveUp = null)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Interval);
        while (!condition())
        {
            if (giveUp?.Invoke() == true)
                Assert.Fail($"stopped waiting after {clock.Elapsed.TotalSeconds:0.0}s: {describe()}");
            if (clock.Elapsed > timeout)
                Assert.Fail($"timed out after {timeout.TotalSeconds:0}s: {describe()}");
            await timer.WaitForNextTickAsync();
        }
    }

    /// <summary>The length of <paramref name="path"/>, or 0 while it does not exist.</summary>
    public static long LengthOf(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? info.Length : 0;
    }
}
