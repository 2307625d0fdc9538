namespace LoadPipe.Core.Storage;

/// <summary>
/// The optional capabilities of one store, as data: every one the engine branches on. The engine asks this record
/// (<see cref="Of"/>), not the type system, so that a wrapper (a fault injector, a counter) can pass its inner store's
/// capabilities through, or mask some, as rclone's <c>Features.Mask</c> does. Each flag stands for the interface
/// named on it; where the engine then needs that interface's methods, it takes the interface, which <see cref="Of"/>
/// guarantees is there. Concurrent writes are not here: they belong to a write session
/// (<see cref="IConcurrentWriteSession"/>), which a wrapper keeps by wrapping it in a session of the same kind.
/// </summary>
public sealed record StorageFeatures
{
    /// <summary><see cref="IRangedReader"/>: reads start at any offset.</summary>
    public bool RangedRead { get; init; }

    /// <summary><see cref="ICheapReads"/>: reading again costs no network, so the cache is skipped.</summary>
    public bool CheapReads { get; init; }

    /// <summary><see cref="ISortedListing"/>: a recursive listing comes in <see cref="PathOrder"/>.</summary>
    public bool SortedListing { get; init; }

    /// <summary><see cref="IWritableStorage"/>: accepts new objects.</summary>
    public bool Write { get; init; }

    /// <summary><see cref="IResumableWriter"/>: a write session survives the process.</summary>
    public bool ResumableWrite { get; init; }

    /// <summary><see cref="IServerSideCopier"/>: copies within the store without the bytes passing through.</summary>
    public bool ServerSideCopy { get; init; }

    /// <summary><see cref="IDeduplicatingWriter"/>: keeps one copy of each content, asked before a new write.</summary>
    public bool DeduplicatingWriter { get; init; }

    /// <summary>No optional capability: a read-only store read from the start.</summary>
    public static StorageFeatures None { get; } = new();

    /// <summary>
    /// What <paramref name="storage"/> offers: what it declares (<see cref="IHasFeatures"/>), else what it implements.
    /// A declaration can only take capabilities away: it is masked with the interfaces the type implements, so a
    /// flag is never true without the interface behind it.
    /// </summary>
    public static StorageFeatures Of(IStorage storage)
    {
        var implemented = Implemented(storage);
        return storage is IHasFeatures declared ? declared.Features.Mask(implemented) : implemented;
    }

    /// <summary>The capability interfaces <paramref name="storage"/>'s type implements, whatever it declares.</summary>
    public static StorageFeatures Implemented(IStorage storage) => new()
    {
        RangedRead = storage is IRangedReader,
        CheapReads = storage is ICheapReads,
        SortedListing = storage is ISortedListing,
        Write = storage is IWritableStorage,
        ResumableWrite = storage is IResumableWriter,
        ServerSideCopy = storage is IServerSideCopier,
        DeduplicatingWriter = storage is IDeduplicatingWriter,
    };

    /// <summary>The capabilities both this and <paramref name="mask"/> have.</summary>
    public StorageFeatures Mask(StorageFeatures mask) => new()
    {
        RangedRead = RangedRead && mask.RangedRead,
        CheapReads = CheapReads && mask.CheapReads,
        SortedListing = SortedListing && mask.SortedListing,
        Write = Write && mask.Write,
        ResumableWrite = ResumableWrite && mask.ResumableWrite,
        ServerSideCopy = ServerSideCopy && mask.ServerSideCopy,
        DeduplicatingWriter = DeduplicatingWriter && mask.DeduplicatingWriter,
    };
}

/// <summary>
/// A store that says which optional capabilities it offers instead of letting its type say it: a wrapper that
/// implements every capability interface by forwarding, and declares its inner store's features
/// (<c>StorageFeatures.Of(inner)</c>), masked as it chooses.
/// </summary>
public interface IHasFeatures
{
    StorageFeatures Features { get; }
}
