using LoadPipe.Core.Locations;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>The storage elements the ingest API knows, by id, and the choice of one for a new file.</summary>
public sealed class StorageElementRegistry
{
    private readonly LocationResolver _resolver;
    private volatile IReadOnlyList<StorageElement> _elements = [];

    public StorageElementRegistry(LocationResolver resolver, IEnumerable<StorageElementConfig> elements)
    {
        _resolver = resolver;
        Replace(elements);
    }

    public IReadOnlyList<StorageElement> All => _elements;

    /// <summary>Makes <paramref name="elements"/> the known elements; each location is resolved here, so a bad one
    /// fails now with its element's id.</summary>
    public void Replace(IEnumerable<StorageElementConfig> elements) =>
        _elements = [.. elements.Select(e => new StorageElement(e, Resolve(e)))];

    public StorageElement? Find(string id) => _elements.FirstOrDefault(e => e.Id == id);

    /// <summary>An element that takes uploads; null when none does.</summary>
    public StorageElement? Select() => _elements.FirstOrDefault(e => e.Writable);

    private Location Resolve(StorageElementConfig element)
    {
        try
        {
            var location = _resolver.Resolve(element.Location);
            return location with { IsFolderHint = true };
        }
        catch (Core.Errors.LoadPipeException e)
        {
            throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Usage, $"storage element {element.Id}: {e.Message}");
        }
    }
}
