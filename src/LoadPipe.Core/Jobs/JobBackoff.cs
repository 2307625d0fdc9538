namespace LoadPipe.Core.Jobs;

/// <summary>
/// The wait before a failed job's next attempt: <see cref="First"/> doubled at each attempt, at most <see cref="Max"/>,
/// with "equal jitter" (half the wait fixed, half random), so that jobs that failed together (a store was down) do not
/// all come back in the same second.
/// </summary>
public sealed class JobBackoff(TimeSpan first, TimeSpan max, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    public TimeSpan First { get; } = first;
    public TimeSpan Max { get; } = max;

    public static JobBackoff Default { get; } = new(JobDefaults.FirstBackoff, JobDefaults.MaxBackoff);

    /// <summary>The wait after attempt <paramref name="attempt"/> (1 for the first) failed.</summary>
    public TimeSpan After(int attempt)
    {
        var full = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30)));
        return TimeSpan.FromMilliseconds(full / 2 + _random.NextDouble() * full / 2);
    }
}
