namespace LoadPipe.Core.Storage;

/// <summary>
/// A place objects live: a local disk, an HTTP server, a bucket. The required part is small (list, stat, read);
/// everything else is an optional capability interface, gathered by <see cref="StorageFeatures.Of"/>.
/// Paths are '/'-separated and relative to whatever the storage was created for.
/// </summary>
public interface IStorage
{
    /// <summary>A short name for messages, e.g. "local" or "https://host". Never holds credentials.</summary>
    string Description { get; }

    /// <summary>
    /// Lists the objects under <paramref name="path"/> lazily, page by page: never the whole tree in memory.
    /// Throws <see cref="Errors.LoadPipeException"/> with <see cref="Errors.ErrorKind.NotFound"/> when the folder does not exist.
    /// </summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default);

    /// <summary>Returns the object's metadata, or null when nothing is at <paramref name="path"/>.</summary>
    Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the content for reading. A non-zero <see cref="ReadOptions.Offset"/> is only honoured by stores that
    /// implement <see cref="IRangedReader"/>. When <see cref="ReadOptions.IfVersion"/> is set and the object no longer
    /// has that version, throws <see cref="Errors.SourceChangedException"/> rather than return other bytes.
    /// </summary>
    Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default);
}

/// <summary>Where to start reading, and which version the caller expects.</summary>
public sealed record ReadOptions(long Offset = 0, string? IfVersion = null)
{
    public static ReadOptions FromStart { get; } = new();
}

/// <summary>Marker: <see cref="IStorage.OpenReadAsync"/> starts at any offset without reading what comes before.</summary>
public interface IRangedReader;

/// <summary>
/// Marker: a recursive <see cref="IStorage.ListAsync"/> yields files in <see cref="PathOrder"/> (the byte order of
/// their UTF-8 paths, as S3 lists keys). Two such listings can be merged in one pass to find what a destination
/// already holds, without a request per file and without holding either listing in memory.
/// </summary>
public interface ISortedListing;

/// <summary>
/// Marker: a read returns one version of the object whole, even when the object is replaced while it is read (an S3
/// object, a Drive revision): bytes of two contents cannot be mixed in one read, so the engine does not stat the
/// source again after reading it. A local file or a file an HTTP server sends from its disk can be rewritten in place
/// under the read: those stores are not marked.
/// </summary>
public interface ISnapshotReads;

/// <summary>Marker: reading again costs no network (a local disk), so caching its bytes gains nothing.</summary>
public interface ICheapReads;

/// <summary>
/// A store that reads a small object whole in one go, with fewer calls than <see cref="IStorage.OpenReadAsync"/>, a
/// stream and a <see cref="IStorage.StatAsync"/> after it (the group commit of small local files: open, read, one stat
/// of the open file, close).
/// </summary>
public interface IWholeReader
{
    /// <summary>Reads the object at <paramref name="path"/> from its start into <paramref name="buffer"/>, until the
    /// buffer is full or the object ends, and describes the object as it is once read (of the object read, not of
    /// whatever its path names now). A caller that asks for one byte more than the size it listed sees an object that
    /// grew; one that compares <see cref="WholeRead.After"/>'s version with the listed one sees an object written since
    /// it was listed, before or during the read. Throws <see cref="Errors.LoadPipeException"/> as
    /// <see cref="IStorage.OpenReadAsync"/> does (nothing there, no permission, not a regular file).</summary>
    WholeRead ReadWhole(string path, Memory<byte> buffer);
}

/// <summary>What <see cref="IWholeReader.ReadWhole"/> read: how many bytes, and the object as it was after.</summary>
public readonly record struct WholeRead(int Length, ObjectInfo After);

/// <summary>
/// A store whose objects are files of this machine: two paths, on it or on another such store, may name one file
/// (a hard link, a folder reached through a link). The engine uses it to refuse a copy onto its own source.
/// </summary>
public interface ILocalFileIdentity
{
    /// <summary>A key that is equal for two paths exactly when they name the same file or folder (device and inode,
    /// links followed); null when nothing is there.</summary>
    string? FileIdOf(string path);
}

/// <summary>A store that accepts new objects.</summary>
public interface IWritableStorage
{
    /// <summary>Starts writing a new object at <paramref name="path"/>. Nothing appears under that name before commit.</summary>
    Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default);

    /// <summary>Creates a folder (and its parents); a no-op on stores without folders.</summary>
    Task CreateFolderAsync(string path, CancellationToken cancellationToken = default);
}

/// <summary>A store whose write sessions survive the process: a new process continues them from saved state.</summary>
public interface IResumableWriter
{
    /// <summary>
    /// Reopens the session described by <paramref name="resumeState"/> (from <see cref="IWriteSession.ResumeState"/>),
    /// keeping exactly the first <paramref name="confirmedLength"/> bytes; anything after them is discarded.
    /// Returns null when the session no longer exists or holds fewer bytes than that (expired, cleaned up).
    /// </summary>
    Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default);
}

/// <summary>A store that can copy objects itself, without the bytes passing through us (S3 CopyObject).</summary>
public interface IServerSideCopier
{
    /// <summary>
    /// Copies <paramref name="sourcePath"/> of <paramref name="source"/> to <paramref name="destinationPath"/> of this
    /// store. Throws <see cref="Errors.CantCopyException"/> when this pair cannot be copied server-side (another
    /// store, another account): the engine then streams the bytes instead.
    /// </summary>
    Task<ObjectInfo> CopyFromAsync(IStorage source, string sourcePath, string destinationPath, CancellationToken cancellationToken = default);
}

/// <summary>Metadata for a new object.</summary>
public sealed record WriteRequest
{
    /// <summary>Final size when known in advance, else -1.</summary>
    public long ExpectedSize { get; init; } = -1;

    /// <summary>The modified time to give the object, where the store keeps one.</summary>
    public DateTimeOffset? Modified { get; init; }

    public string? ContentType { get; init; }

    /// <summary>Where the bytes come from (a location, without secrets), for records the destination keeps. Default null.</summary>
    public string? Source { get; init; }

    /// <summary>Hashes of the bytes to be written, when known before writing ("md5" -> lowercase hex): the source's
    /// own when there are no stages; after a commit, what was written. Default none.</summary>
    public IReadOnlyDictionary<string, string> Hashes { get; init; } = new Dictionary<string, string>();

    /// <summary>Properties for the destination from --meta and its flags (a video's title, privacy...). Each store
    /// reads the names its docs list and ignores the rest. Default none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The writer flushes what it writes itself (<see cref="IWriteSession.FlushAsync"/>) and does not read it
    /// back soon: a store may write around its cache (local disk: O_DIRECT where the file system takes it), which spares
    /// the copy into the page cache and its write-back. Only the push entry asks for it. Default false.</summary>
    public bool Unbuffered { get; init; }
}

/// <summary>
/// An object being written chunk by chunk. Writes are strictly sequential: each starts where the last ended.
/// When <see cref="WriteAsync"/> returns, the bytes are durable at the destination (an acknowledged part), or the
/// session can read them back (<see cref="OpenWrittenAsync"/>): then it may defer durability to the commit, since
/// a resume checks every confirmed chunk it reads back and sends again those a power loss took.
/// </summary>
public interface IWriteSession : IAsyncDisposable
{
    /// <summary>Opaque text a new process passes to <see cref="IResumableWriter.ResumeWriteAsync"/>; null when the
    /// session cannot be resumed (stdout). May change after each write: save it with the chunk.</summary>
    string? ResumeState { get; }

    /// <summary>True when a new session for the same destination finds <see cref="ResumeState"/> again by itself (a local
    /// partial file, named after its target): nothing of it is lost when it is recorded only with the first confirmed
    /// chunk, and the manifest is not written before the first write. Default false (an upload URL or id, which only
    /// the manifest keeps, is recorded at once).</summary>
    bool ResumeStateIsImplied => false;

    /// <summary>Every write but the last must be a multiple of this many bytes (1: any size).</summary>
    int ChunkAlignment { get; }

    /// <summary>Every write but the last must be at least this many bytes (S3: 5 MiB). Default 0: any.</summary>
    long MinimumWriteSize => 0;

    /// <summary>The write size this session wants (an S3 part size chosen to stay under 10,000 parts), or null to
    /// use the engine's chunk size. A resumed session must return what the original did.</summary>
    int? PreferredWriteSize => null;

    /// <summary>Bytes confirmed so far: the offset the next write starts at.</summary>
    long Length { get; }

    Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>The last write, followed at once by <see cref="CommitAsync"/>: it need not be durable on its own
    /// (the engine does not record it; a crash before the commit sends it again). Default: <see cref="WriteAsync"/>.</summary>
    Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => WriteAsync(data, cancellationToken);

    /// <summary>Makes every byte written so far durable, so that it survives kill -9 and power loss, for a caller that
    /// reports bytes as kept before the commit (the push entry, <see cref="Uploads.IUploads"/>). The pull path never calls
    /// it: its resume reads back and checks what a crash may have taken. Default: nothing to do, for sessions whose writes
    /// are durable when they return (an acknowledged S3 part, a Drive chunk).</summary>
    Task FlushAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Reads back the confirmed bytes, for rebuilding hashes after a resume; null when the store cannot.</summary>
    Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default);

    /// <summary>Makes the object visible under its final name, whole. Returns what the store now reports.</summary>
    Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>Commits so that the object under its final name survives a power loss, for a caller that reports it as
    /// kept once this returns without having flushed its bytes before (the push entry's upload completed by the append
    /// that read its end). Default: <see cref="FlushAsync"/>, then <see cref="CommitAsync"/>.</summary>
    async Task<ObjectInfo> CommitDurablyAsync(CancellationToken cancellationToken = default)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops everything written; the final name is untouched.</summary>
    Task AbortAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A write session whose chunks may be sent at once, each to its own slot (S3 parts). The engine still owns the
/// order: it hands out chunks in sequence, keeps at most <see cref="MaxWritesInFlight"/> in flight, and confirms each
/// in the manifest only once it and every chunk before it are acknowledged. <see cref="IWriteSession.ResumeState"/>
/// may then describe slots beyond the confirmed ones: a resume keeps only the confirmed prefix.
/// </summary>
public interface IConcurrentWriteSession : IWriteSession
{
    /// <summary>How many <see cref="WriteChunkAsync"/> calls may run at once (1: one after another).</summary>
    int MaxWritesInFlight { get; }

    /// <summary>
    /// Writes chunk <paramref name="index"/> (0-based, counted from the start of the object, resumed chunks included)
    /// holding bytes from <paramref name="offset"/>. Safe to call while other chunks are being written; a retried call
    /// for the same index overwrites that chunk. Every chunk but the last follows the session's size rules.
    /// </summary>
    Task WriteChunkAsync(int index, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);
}

