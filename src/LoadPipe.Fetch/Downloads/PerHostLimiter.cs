using System.Collections.Concurrent;

namespace LoadPipe.Fetch.Downloads;

/// <summary>At most <paramref name="perHost"/> requests at once to each host (--per-host): a list that is mostly one
/// host does not open --downloads connections to it.</summary>
public sealed class PerHostLimiter(int perHost)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _hosts = new(StringComparer.OrdinalIgnoreCase);

    public async Task<IDisposable> AcquireAsync(Uri url, CancellationToken cancellationToken)
    {
        var gate = _hosts.GetOrAdd(url.Authority, _ => new SemaphoreSlim(perHost, perHost));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Slot(gate);
    }

    private sealed class Slot(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }
}
