namespace LoadPipe.Core.Storage;

/// <summary>
/// The optional capabilities of one store, as data: every one the engine branches on. The engine asks this record
/// (<see cref="Of"/>), not the type system, so that a wrapper (a fault injector, a counter) can pass its inner store's
/// capabilities through, or mask some, as rclone's <c>Features.Mask</c> does. Each flag stands for the interface
/// named on it; where the engine then needs that interface's methods, it takes the interface, which <see cref="Of"/>
/// guarantees is there (<see cref="As{T}"/>). Two flags are limitations rather than capabilities (<see cref="ReadOnce"/>,
/// <see cref="KeepsNothing"/>): a store that is a stream, not a place. Concurrent writes are not here: they belong to a write session
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

    /// <summary><see cref="IObjectRemover"/>: removes an object it holds.</summary>
    public bool Remove { get; init; }

    /// <summary><see cref="IDeduplicatingWriter"/>: keeps one copy of each content, asked before a new write.</summary>
    public bool DeduplicatingWriter { get; init; }

    /// <summary><see cref="IGroupCommitWriter"/>: makes a batch of small objects durable together.</summary>
    public bool GroupCommit { get; init; }

    /// <summary>A limitation, declared by the store (<see cref="IHasFeatures"/>): its one object is a stream, read once
    /// from the start (standard input). Nothing reads it twice: no open to check it before the write, no pass to hash
    /// it, no new start when it changes; and it is no place a destination could name as where its bytes came from.</summary>
    public bool ReadOnce { get; init; }

    /// <summary>A limitation, declared by the store (<see cref="IHasFeatures"/>): what is written is not kept where it
    /// could be found again (standard output). The engine never looks for it there (no skip, no resume, no read-back, no
    /// destination lock), and the store takes one file, not a folder.</summary>
    public bool KeepsNothing { get; init; }

    /// <summary>No optional capability: a read-only store read from the start.</summary>
    public static StorageFeatures None { get; } = new();

    /// <summary>
    /// What <paramref name="storage"/> offers: what it declares (<see cref="IHasFeatures"/>), else what it implements.
    /// A declaration can only take capabilities away: it is masked with the interfaces the type implements, so a
    /// flag is never true without the interface behind it; the limitations are the declaration's alone.
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
        Remove = storage is IObjectRemover,
        GroupCommit = storage is IGroupCommitWriter,
    };

    /// <summary>The capabilities both this and <paramref name="mask"/> have, with the limitations of either.</summary>
    public StorageFeatures Mask(StorageFeatures mask) => new()
    {
        ReadOnce = ReadOnce || mask.ReadOnce,
        KeepsNothing = KeepsNothing || mask.KeepsNothing,
        RangedRead = RangedRead && mask.RangedRead,
        CheapReads = CheapReads && mask.CheapReads,
        SortedListing = SortedListing && mask.SortedListing,
        Write = Write && mask.Write,
        ResumableWrite = ResumableWrite && mask.ResumableWrite,
        ServerSideCopy = ServerSideCopy && mask.ServerSideCopy,
        DeduplicatingWriter = DeduplicatingWriter && mask.DeduplicatingWriter,
        Remove = Remove && mask.Remove,
        GroupCommit = GroupCommit && mask.GroupCommit,
    };

    /// <summary><paramref name="storage"/> as the capability interface <typeparamref name="T"/> when this record offers
    /// it (the flag that stands for <typeparamref name="T"/> is set), else null: a masked capability is not used even
    /// though the type implements it. Pass the store these features were taken from.</summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not one of the interfaces the flags stand for.</exception>
    public T? As<T>(IStorage storage) where T : class
    {
        var offered = typeof(T) == typeof(IWritableStorage) ? Write
            : typeof(T) == typeof(IResumableWriter) ? ResumableWrite
            : typeof(T) == typeof(IServerSideCopier) ? ServerSideCopy
            : typeof(T) == typeof(IDeduplicatingWriter) ? DeduplicatingWriter
            : typeof(T) == typeof(IObjectRemover) ? Remove
            : typeof(T) == typeof(IGroupCommitWriter) ? GroupCommit
            : typeof(T) == typeof(IRangedReader) ? RangedRead
            : typeof(T) == typeof(ICheapReads) ? CheapReads
            : typeof(T) == typeof(ISortedListing) ? SortedListing
            : throw new ArgumentException($"{typeof(T).Name} is not a capability that StorageFeatures stands for", nameof(T));
        return offered ? storage as T : null;
    }
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
