using LoadPipe.Core.Storage;
using LoadPipe.Storage.Conformance;
using LoadPipe.Storage.Tus.Tests.Support;

namespace LoadPipe.Storage.Tus.Tests;

/// <summary>The storage contract, write side, on the tus reference server (@tus/server with @tus/file-store), each test
/// in a folder of its own (sent as the uploads' relativePath).</summary>
public sealed class TusStorageContractTests : StorageContractTests
{
    private readonly string _folder = "c" + Guid.NewGuid().ToString("N")[..8];

    protected override IStorage CreateStorage() => TusReferenceServer.Storage();

    protected override StorageFeatures Features => new() { Write = true, ResumableWrite = true };

    /// <summary>tus names uploads by URL and has no request to list them, to find one by name or to read one back: a
    /// write-only store without folders. A server cannot drop the bytes an upload holds past the confirmed length: a
    /// resume must send the same bytes again, as the engine does, and the session skips what the server holds.</summary>
    protected override ContractGaps Gaps =>
        ContractGaps.Listing | ContractGaps.Folders | ContractGaps.Reading | ContractGaps.DroppingUnconfirmedBytes;

    protected override string? Unavailable => TusReferenceServer.Unavailable;

    protected override string Folder => _folder;

    protected override Task PutAsync(string path, byte[] content) =>
        throw new NotSupportedException("a tus server gets objects only through uploads");

    /// <summary>The upload's bytes, from the file store's folder: the one upload made for the path.</summary>
    protected override Task<byte[]> ReadCommittedAsync(IStorage storage, string path, ObjectInfo committed) =>
        Task.FromResult(TusReferenceServer.Content(Assert.Single(TusReferenceServer.UploadsOf(path))));

    /// <summary>The aborted upload was terminated: the server holds nothing of it.</summary>
    protected override Task AssertNoLeftoversAsync(string path)
    {
        Assert.Empty(TusReferenceServer.UploadsOf(path));
        return Task.CompletedTask;
    }
}
