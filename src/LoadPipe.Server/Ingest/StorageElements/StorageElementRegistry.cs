using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>
/// The storage elements the ingest API knows, by id, and the choice of one for a new file: among the available
/// `edit` and `rw` elements (healthy, breaker not open, not full), those of the preferred region when one of them is
/// available, then by the strategy: least_used (the lowest fill of its capacity, then the fewest bytes),
/// round_robin, or random. The list can be replaced while the server runs (discovery); an element that stays keeps
/// its usage, health and breaker.
/// </summary>
public sealed class StorageElementRegistry(LocationResolver resolver, IngestSettings settings, TimeProvider time)
{
    private readonly Lock _gate = new();
    private volatile IReadOnlyList<StorageElement> _elements = [];

    /// <summary>Elements a new list left out, by id: uploads under way on them finish there, and their files stay readable.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StorageElement> _retired = new(StringComparer.Ordinal);
    private int _next;

    public IReadOnlyList<StorageElement> All => _elements;

    /// <summary>Makes <paramref name="elements"/> the known elements. Each location is resolved here, so a bad one fails
    /// now, naming its element; an element whose id and location are unchanged is kept as it was.</summary>
    public void Replace(IEnumerable<StorageElementConfig> elements)
    {
        lock (_gate)
        {
            var old = _elements.ToDictionary(e => e.Id, StringComparer.Ordinal);
            var next = elements.Select(c => old.TryGetValue(c.Id, out var kept) && kept.Config == c ? kept : new StorageElement(c, Resolve(c), settings, time)).ToList();
            foreach (var element in next) _retired.TryRemove(element.Id, out _);
            foreach (var gone in _elements.Where(e => !next.Contains(e))) _retired[gone.Id] = gone;
            _elements = next;
        }
    }

    /// <summary>The element of that id: a listed one, else one a later list left out (never chosen for new files).</summary>
    public StorageElement? Find(string id) => _elements.FirstOrDefault(e => e.Id == id) ?? _retired.GetValueOrDefault(id);

    /// <summary>An element for a new file, other than those in <paramref name="excluded"/>; null when none is available.</summary>
    public StorageElement? Select(IReadOnlyCollection<string>? excluded = null)
    {
        var candidates = _elements.Where(e => e.Available && excluded?.Contains(e.Id) != true).ToList();
        if (candidates.Count == 0) return null;
        if (settings.PreferredRegion is { } region && candidates.Where(e => e.Config.Region == region).ToList() is { Count: > 0 } local)
            candidates = local;
        return settings.StorageSelection switch
        {
            "round_robin" => candidates[(int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Count)],
            "random" => candidates[Random.Shared.Next(candidates.Count)],
            _ => candidates.OrderBy(e => e.Fill).ThenBy(e => e.UsedBytes).First(),
        };
    }

    /// <summary>Checks every element once (the health checker calls it every interval).</summary>
    public Task CheckAllAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_elements.Select(e => e.CheckAsync(time, cancellationToken)));

    private Location Resolve(StorageElementConfig element)
    {
        try
        {
            var location = resolver.Resolve(element.Location);
            return location with { IsFolderHint = true };
        }
        catch (LoadPipeException e)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"storage element {element.Id}: {e.Message}");
        }
    }
}
