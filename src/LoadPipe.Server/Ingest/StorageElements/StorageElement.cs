using LoadPipe.Core.Locations;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>A storage element at run time: its configuration and its location, resolved once.</summary>
public sealed class StorageElement(StorageElementConfig config, Location location)
{
    public StorageElementConfig Config { get; } = config;
    public string Id => Config.Id;
    public Location Location { get; } = location;

    /// <summary>Uploads go only to `edit` and `rw` elements.</summary>
    public bool Writable => Config.Mode is "edit" or "rw";

    /// <summary>Files are deleted only from `edit` elements.</summary>
    public bool Editable => Config.Mode == "edit";
}
