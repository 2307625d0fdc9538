namespace LoadPipe.Core.Storage;

/// <summary>
/// A store that makes many small objects durable together (group commit), instead of paying a durable write for
/// each: each object is written whole to a staging place (<see cref="StageAsync"/>), where nothing reads it, and one
/// <see cref="CommitAsync"/> makes a whole batch durable and only then gives each object its final name; the names are
/// made durable by the next batch's commit, or by <see cref="SyncNamesAsync"/>. The engine uses it for files that fit
/// in one chunk, which need neither chunk records nor a resume.
/// </summary>
/// <remarks>
/// The contract that keeps a crash harmless: no object ever carries its final name before its bytes are durable, and
/// once the names of a batch are durable (the next <see cref="CommitAsync"/> or <see cref="SyncNamesAsync"/> has
/// returned), every object it reported committed is at its final name and survives a power loss. An object staged but
/// never committed leaves at most its staging place (a partial file, which the next write of that path takes over).
/// </remarks>
public interface IGroupCommitWriter
{
    /// <summary>Writes <paramref name="content"/>, the whole object, to a staging place beside <paramref name="path"/>,
    /// and holds that place against other writers until the object is committed or disposed. Neither durable nor
    /// visible under <paramref name="path"/> yet. Throws <see cref="Errors.LoadPipeException"/> with
    /// <see cref="Errors.ErrorKind.Busy"/> when another writer holds the place.</summary>
    Task<IStagedObject> StageAsync(string path, ReadOnlyMemory<byte> content, WriteRequest request, CancellationToken cancellationToken = default);

    /// <summary>Makes every object of <paramref name="staged"/> durable, then gives each its final name. The names it
    /// gives need not be durable when it returns (a store may leave them to the next call, whose durable write covers
    /// them anyway): they are once a later <see cref="CommitAsync"/> or <see cref="SyncNamesAsync"/> has returned. Every
    /// name given by a call that returned before this one began is durable when this one returns. An object whose name
    /// could not be given keeps <see cref="IStagedObject.Committed"/> false (its staging place is left for its disposal
    /// to remove). Throws when the batch's durability failed or is unknown (an fsync failed): the objects may then be at
    /// their names or not, and the caller must treat none as done, nor the names of the calls before it.</summary>
    Task CommitAsync(IReadOnlyList<IStagedObject> staged, CancellationToken cancellationToken = default);

    /// <summary>Makes durable every name given by the calls to <see cref="CommitAsync"/> that returned before this call
    /// began. Throws when that failed or is unknown: those names are then not known to survive a power loss.</summary>
    Task SyncNamesAsync(CancellationToken cancellationToken = default);
}

/// <summary>One object staged by <see cref="IGroupCommitWriter.StageAsync"/>. Disposing it lets its staging place go:
/// removed when it was not committed.</summary>
public interface IStagedObject : IAsyncDisposable
{
    /// <summary>The object's path, as it was staged.</summary>
    string Path { get; }

    /// <summary>True once <see cref="IGroupCommitWriter.CommitAsync"/> has given the object its final name (durable once
    /// the names are: the next commit, or <see cref="IGroupCommitWriter.SyncNamesAsync"/>).</summary>
    bool Committed { get; }
}
