using LoadPipe.Core.Storage;
using LoadPipe.Google.Tests.Drive.Support;
using LoadPipe.Google.Upload;
using LoadPipe.Storage.Conformance;

namespace LoadPipe.Google.Tests.Drive;

/// <summary>The storage contract on the Google protocol server's Drive, in a fresh top folder per test, listing two files a page.</summary>
public sealed class GoogleDriveStorageContractTests(DriveServer server) : StorageContractTests, IClassFixture<DriveServer>
{
    private const int PageSize = 2;
    private readonly string _top = "c" + Guid.NewGuid().ToString("N")[..8];

    protected override IStorage CreateStorage() => server.Storage(listPageSize: PageSize);

    protected override StorageFeatures Features => new() { RangedRead = true, Write = true, ResumableWrite = true };

    /// <summary>Google's resumable uploads keep the bytes a session holds past the confirmed length, and skip them in
    /// the next write: a resume must send the same bytes again (ResumableUploadSession), as the engine does.</summary>
    protected override ContractGaps Gaps => ContractGaps.DroppingUnconfirmedBytes;

    protected override string Folder => _top;

    protected override int? ListPageSize => PageSize;

    /// <summary>Drive's chunk alignment.</summary>
    protected override int WriteSize => ResumableUploadClient.ChunkAlignment;

    /// <summary>A new file; one already at the path is trashed first, so the name then holds another file (another revision).</summary>
    protected override Task PutAsync(string path, byte[] content)
    {
        var slash = path.LastIndexOf('/');
        var parent = server.Google.Drive.CreateFolders(path[..slash]);
        if (server.Google.FindByPath(path) is { } old) server.Google.Drive.Trash(old.Id);
        server.Google.PutFile(parent, path[(slash + 1)..], content);
        return Task.CompletedTask;
    }
}
