namespace LoadPipe.Core.Storage;

/// <summary>What a store says about one object.</summary>
public sealed record ObjectInfo
{
    /// <summary>For <see cref="IStorage.ListAsync"/>: the path relative to the listed folder, '/'-separated.
    /// For <see cref="IStorage.StatAsync"/>: the path as asked.</summary>
    public required string Path { get; init; }

    /// <summary>Size in bytes; -1 when the store cannot tell before reading (a stream, a chunked response).</summary>
    public long Size { get; init; } = -1;

    public DateTimeOffset? Modified { get; init; }

    /// <summary>A token that changes whenever the content does: an ETag, a revision id. Null when the store has none.</summary>
    public string? Version { get; init; }

    /// <summary>True when <see cref="Version"/> may stay the same while the content changes: an HTTP Last-Modified
    /// (to the second, and a server may keep it), a local file's modified time and size where the system gives no
    /// change time. A resume then also reads the source's bytes behind the last confirmed chunk again and compares
    /// them with what was sent. A null version is weak too. Default false.</summary>
    public bool WeakVersion { get; init; }

    /// <summary>Set for an entry that is neither a regular file nor a folder ("a named pipe", "a socket", "a device"):
    /// listed so that the engine can say it skipped it, and never opened (opening a pipe waits for a writer, a device
    /// may never end). Default null.</summary>
    public string? SpecialFileKind { get; init; }

    /// <summary>Hashes the store offers without reading the content: "md5", "sha256" -> lowercase hex.</summary>
    public IReadOnlyDictionary<string, string> Hashes { get; init; } = new Dictionary<string, string>();

    public bool IsDirectory { get; init; }

    /// <summary>What else the store says of the object, for the user ("video_id", "url"): a write's commit returns
    /// them and the run reports them with the file. Default none.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();
}
