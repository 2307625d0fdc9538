using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Storage;

/// <summary>Capabilities as data: what <see cref="StorageFeatures.Of"/> reads, and how a wrapper passes them through or masks them.</summary>
public sealed class StorageFeaturesTests
{
    [Fact]
    public void Of_StoreWithoutADeclaration_IsWhatItsTypeImplements() =>
        Assert.Equal(new StorageFeatures { RangedRead = true, CheapReads = true, SortedListing = true, Write = true, ResumableWrite = true, Remove = true, GroupCommit = true },
            StorageFeatures.Of(new LocalStorage()));

    [Fact]
    public void Of_WrapperDeclaringItsInnerStores_PassesThemThrough() =>
        // All but the group commit, which the fault injector does not forward: its faults are in write sessions.
        Assert.Equal(StorageFeatures.Of(new LocalStorage()) with { GroupCommit = false }, StorageFeatures.Of(new FaultyStorage(new LocalStorage())));

    [Fact]
    public void Of_WrapperMaskingACapability_LeavesItOut()
    {
        var features = StorageFeatures.Of(new CountingStorage(new LocalStorage()));

        Assert.False(features.CheapReads);
        Assert.True(features.RangedRead);
        Assert.True(features.SortedListing);
    }

    [Fact]
    public void Of_DeclarationClaimingMoreThanTheTypeImplements_IsMaskedByTheInterfaces() =>
        Assert.Equal(new StorageFeatures { RangedRead = true }, StorageFeatures.Of(new Boastful()));

    [Fact]
    public void Of_WrapperOfAStream_KeepsTheStreamsLimitations()
    {
        var features = StorageFeatures.Of(new CountingStorage(new StdioStorage()));

        Assert.True(features.ReadOnce);
        Assert.True(features.KeepsNothing);
        Assert.False(StorageFeatures.Of(new CountingStorage(new LocalStorage())).ReadOnce);
    }

    [Fact]
    public void As_CapabilityTheRecordMasks_IsNullThoughTheTypeImplementsIt()
    {
        var store = new CopyingStorage(new LocalStorage()) { OffersServerSideCopy = false };

        Assert.Null(StorageFeatures.Of(store).As<IServerSideCopier>(store));
        Assert.Same(store, StorageFeatures.Of(store).As<IWritableStorage>(store));
        Assert.Throws<ArgumentException>(() => StorageFeatures.Of(store).As<IStorage>(store));
    }

    /// <summary>Declares every capability but implements only ranged reads.</summary>
    private sealed class Boastful : IStorage, IHasFeatures, IRangedReader
    {
        public StorageFeatures Features => new()
        {
            RangedRead = true, CheapReads = true, SortedListing = true, Write = true, ResumableWrite = true, ServerSideCopy = true, DeduplicatingWriter = true, GroupCommit = true,
        };

        public string Description => "boastful";

        public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
