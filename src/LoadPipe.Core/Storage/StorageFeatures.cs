namespace LoadPipe.Core.Storage;

/// <summary>The optional capabilities of one store, gathered once so the engine asks a record, not the type system.</summary>
public sealed record StorageFeatures(bool RangedRead, bool Write, bool ResumableWrite, bool ServerSideCopy, bool CheapReads, bool LocalFileIdentity)
{
    public static StorageFeatures Of(IStorage storage) => new(
        RangedRead: storage is IRangedReader,
        Write: storage is IWritableStorage,
        ResumableWrite: storage is IResumableWriter,
        ServerSideCopy: storage is IServerSideCopier,
        CheapReads: storage is ICheapReads,
        LocalFileIdentity: storage is ILocalFileIdentity);
}
