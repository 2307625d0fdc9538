using LoadPipe.Core.Storage;
using LoadPipe.Storage.Conformance;
using LoadPipe.Storage.Http;

namespace LoadPipe.EndToEnd.Tests.Http;

/// <summary>The storage contract, read side, on a real HTTP file server over loopback.</summary>
public sealed class HttpStorageContractTests(FileServer server) : StorageContractTests, IClassFixture<FileServer>
{
    private static readonly HttpClient Client = new();
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];

    protected override IStorage CreateStorage() => new HttpStorage(server.BaseAddress, Client);

    protected override StorageFeatures Features => new() { RangedRead = true };

    /// <summary>A plain HTTP server has no listing API (a URL lists as the one object it names) and no folders.</summary>
    protected override ContractGaps Gaps => ContractGaps.Listing | ContractGaps.Folders;

    protected override string Folder => "";

    /// <summary>The server serves one level of names: each test's names carry its own prefix instead.</summary>
    protected override string At(string name) => $"{_prefix}-{name.Replace('/', '-')}";

    protected override Task PutAsync(string path, byte[] content)
    {
        server.Publish(path, content);
        return Task.CompletedTask;
    }
}
