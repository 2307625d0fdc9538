using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Storage.Conformance;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Local;

/// <summary>The storage contract on the local disk, rooted in a fresh folder per test.</summary>
public sealed class LocalStorageContractTests : StorageContractTests, IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IStorage CreateStorage() => new LocalStorage(_dir.Path);

    protected override StorageFeatures Features => new()
    {
        RangedRead = true, CheapReads = true, SortedListing = true, Write = true, ResumableWrite = true, Remove = true, GroupCommit = true,
    };

    protected override string Folder => "";

    protected override Task PutAsync(string path, byte[] content)
    {
        _dir.Write(path, content);
        return Task.CompletedTask;
    }

    /// <summary>No hidden partial file is left beside the target.</summary>
    protected override Task AssertNoLeftoversAsync(string path)
    {
        Assert.False(File.Exists(LocalStorage.PartialPath(_dir[path])));
        return Task.CompletedTask;
    }
}
