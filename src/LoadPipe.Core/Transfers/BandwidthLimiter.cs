namespace LoadPipe.Core.Transfers;

/// <summary>
/// One rate shared by every transfer of a run (rclone's --bwlimit): a virtual clock that each read advances by
/// bytes/rate, waiting when it runs ahead of real time by more than a small burst.
/// </summary>
public sealed class BandwidthLimiter(long bytesPerSecond, TimeProvider timeProvider)
{
    private static readonly TimeSpan Burst = TimeSpan.FromMilliseconds(100);
    private readonly Lock _lock = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    public async ValueTask WaitAsync(int bytes, CancellationToken cancellationToken = default)
    {
        if (bytesPerSecond <= 0 || bytes <= 0) return;
        TimeSpan wait;
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            if (_next < now) _next = now;
            _next += TimeSpan.FromSeconds((double)bytes / bytesPerSecond);
            wait = _next - now - Burst;
        }
        if (wait > TimeSpan.Zero) await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
    }
}
