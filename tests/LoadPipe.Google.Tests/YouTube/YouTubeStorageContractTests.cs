using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Tests.YouTube.Support;
using LoadPipe.Google.Upload;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Conformance;

namespace LoadPipe.Google.Tests.YouTube;

/// <summary>The storage contract, write side, on the Google protocol server's YouTube; each test has its own
/// manifest, which holds the remote's quota ledger.</summary>
public sealed class YouTubeStorageContractTests(YouTubeServer server) : StorageContractTests, IClassFixture<YouTubeServer>
{
    private readonly LocalFolder _dir = new();
    private IManifest? _manifest;

    public override async Task InitializeAsync() => _manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);

    public override async Task DisposeAsync()
    {
        if (_manifest is not null) await _manifest.DisposeAsync();
        _dir.Dispose();
    }

    protected override IStorage CreateStorage() => server.Sink(_manifest!, "yt");

    protected override StorageFeatures Features => new() { Write = true, ResumableWrite = true, DeduplicatingWriter = true };

    /// <summary>A channel is a write-only sink without folders: it lists the videos uploaded (from the manifest), and
    /// can read none back. Google's resumable uploads keep the bytes a session holds past the confirmed length: a
    /// resume must send the same bytes again, as the engine does.</summary>
    protected override ContractGaps Gaps =>
        ContractGaps.Listing | ContractGaps.Folders | ContractGaps.Reading | ContractGaps.DroppingUnconfirmedBytes;

    protected override string Folder => "";

    /// <summary>YouTube's chunk alignment.</summary>
    protected override int WriteSize => ResumableUploadClient.ChunkAlignment;

    protected override Task PutAsync(string path, byte[] content) =>
        throw new NotSupportedException("a channel gets videos only through uploads");

    /// <summary>The video's bytes, as the server received them.</summary>
    protected override async Task<byte[]> ReadCommittedAsync(IStorage storage, string path, ObjectInfo committed)
    {
        await using var stream = server.Google.YouTube.OpenContent(committed.Properties["video_id"]);
        return await ReadAllAsync(stream);
    }
}
