using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>`type: local` remotes: `root` (optional) is the folder paths are relative to.</summary>
public sealed class LocalStorageFactory : IStorageFactory
{
    public string Type => "local";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string> { "root" };

    public IStorage Create(RemoteDefinition remote) => new LocalStorage(remote.Get("root"));
}

/// <summary>"-" locations.</summary>
public sealed class StdioStorageFactory : IStorageFactory
{
    public string Type => "stdio";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string>();

    public IStorage Create(RemoteDefinition remote) => new StdioStorage();
}
