namespace LoadPipe.Fetch.Processing;

/// <summary>
/// A downloaded file as a processor sees it (seed 002's FileData). Exactly one of <see cref="Path"/> and
/// <see cref="Stream"/> is set: a processor that asks for a path (<see cref="IFileProcessor.NeedsPath"/>) gets the
/// whole file on disk; one that does not gets the bytes as they arrive, with no temporary file.
/// </summary>
public sealed record FileData
{
    /// <summary>The entry's id from the list, or null.</summary>
    public string? Id { get; init; }

    /// <summary>A file name for the entry: its name from the list, else the last segment of its URL.</summary>
    public required string Name { get; init; }

    public required string Url { get; init; }

    /// <summary>The downloaded file (after the --process stages), whole; null for a streamed file.</summary>
    public string? Path { get; init; }

    /// <summary>The bytes as they arrive (after the --process stages), to be read to their end; null when
    /// <see cref="Path"/> is set. A failed download ends it with an <see cref="IOException"/>.</summary>
    public Stream? Stream { get; init; }

    /// <summary>Size in bytes: the file's on disk; for a stream, what the server announced, or -1.</summary>
    public long Size { get; init; } = -1;

    /// <summary>Hashes the server gave for the bytes ("md5" from Content-MD5), lowercase hex; may be empty.</summary>
    public IReadOnlyDictionary<string, string> Hashes { get; init; } = new Dictionary<string, string>();

    /// <summary>Opens the content for reading: the file at <see cref="Path"/>, or <see cref="Stream"/> itself.</summary>
    public Stream OpenRead() => Path is { } path
        ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous)
        : Stream ?? throw new InvalidOperationException("the file has neither a path nor a stream");
}
