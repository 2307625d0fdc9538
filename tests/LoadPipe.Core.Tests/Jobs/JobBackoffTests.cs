using LoadPipe.Core.Jobs;

namespace LoadPipe.Core.Tests.Jobs;

public sealed class JobBackoffTests
{
    [Fact]
    public void After_EachAttempt_DoublesWithinEqualJitter_UpToTheMax()
    {
        var backoff = new JobBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), new Random(7));

        var waits = Enumerable.Range(1, 6).Select(a => (Attempt: a, Wait: backoff.After(a))).ToList();

        foreach (var (attempt, wait) in waits)
        {
            var full = Math.Min(60, 10 * Math.Pow(2, attempt - 1));
            Assert.InRange(wait.TotalSeconds, full / 2, full);
        }
    }

    [Fact]
    public void After_SameAttemptTwice_JitterSpreadsTheWaits()
    {
        var backoff = new JobBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(10), new Random(11));

        var waits = Enumerable.Range(0, 20).Select(_ => backoff.After(3)).Distinct().Count();

        Assert.True(waits > 1);
    }
}
