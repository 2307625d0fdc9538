using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Tests.Drive.Support;
using LoadPipe.Testing.Google.Faults;
using static LoadPipe.Google.Tests.Drive.Support.DriveServer;

namespace LoadPipe.Google.Tests.Drive;

/// <summary>Listing, stat, path resolution and ranged reads of <see cref="Storage.GoogleDrive.GoogleDriveStorage"/> against the protocol server.</summary>
public sealed class GoogleDriveStorageTests(DriveServer server) : IClassFixture<DriveServer>, IDisposable
{
    private readonly string _top = "t" + Guid.NewGuid().ToString("N")[..8];
    private readonly LogCapture _log = new();

    public void Dispose() => _log.Dispose();

    private string Folder(string path) => server.Google.Drive.CreateFolders($"{_top}/{path}");

    [Fact]
    public async Task ListAsync_RecursiveWithSmallPages_YieldsEveryFileWithSizeAndMd5()
    {
        var raw = Folder("raw");
        var deep = Folder("raw/a/b");
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < 5; i++)
        {
            files[$"f{i}.bin"] = Random(1000 + i, seed: i);
            server.Google.PutFile(raw, $"f{i}.bin", files[$"f{i}.bin"]);
        }
        files["a/b/deep.bin"] = Random(3000, seed: 9);
        server.Google.PutFile(deep, "deep.bin", files["a/b/deep.bin"]);
        server.Google.Requests.Clear();

        var listed = new List<ObjectInfo>();
        await foreach (var entry in server.Storage(listPageSize: 2).ListAsync($"{_top}/raw", recursive: true)) listed.Add(entry);

        var listedFiles = listed.Where(e => !e.IsDirectory).ToDictionary(e => e.Path);
        Assert.Equal(files.Keys.Order(), listedFiles.Keys.Order());
        foreach (var (path, content) in files)
        {
            Assert.Equal(content.Length, listedFiles[path].Size);
            Assert.Equal(Md5(content), listedFiles[path].Hashes["md5"]);
            Assert.NotNull(listedFiles[path].Version);
        }
        Assert.Contains(listed, e => e is { IsDirectory: true, Path: "a/b" });
        // 6 entries in "raw" (5 files and "a") in pages of 2: three requests there, and a page token in two of them.
        Assert.Equal(2, server.Google.Requests.OfKind(RequestKind.DriveList).Count(r => r.Query.Contains("pageToken=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ListAsync_NotRecursive_YieldsFolderAsEntryWithoutItsContent()
    {
        var raw = Folder("flat");
        server.Google.PutFile(raw, "top.bin", Random(10));
        server.Google.PutFile(server.Google.Drive.CreateFolders($"{_top}/flat/sub"), "inner.bin", Random(10));

        var listed = new List<ObjectInfo>();
        await foreach (var entry in server.Storage().ListAsync($"{_top}/flat", recursive: false)) listed.Add(entry);

        Assert.Equal(["sub", "top.bin"], listed.Select(e => e.Path).Order());
        Assert.True(listed.Single(e => e.Path == "sub").IsDirectory);
    }

    private const string Document = "application/vnd.google-apps.document";
    private const string Spreadsheet = "application/vnd.google-apps.spreadsheet";
    private const string Docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

    [Fact]
    public async Task ListAsync_GoogleDocuments_ListedAsExportsInTheFirstAllowedFormatAndTheRestSkippedWithAWarning()
    {
        var folder = Folder("docs");
        server.Google.PutFile(folder, "plain.txt", Random(10));
        server.Google.Drive.PutFile(folder, "Notes", Random(100, seed: 3), Document);
        server.Google.Drive.PutFile(folder, "Budget", Random(100, seed: 4), Spreadsheet);
        server.Google.Drive.PutFile(folder, "Survey", Random(100, seed: 5), "application/vnd.google-apps.form");

        var listed = new List<ObjectInfo>();
        await foreach (var entry in server.Storage(log: _log.Factory).ListAsync($"{_top}/docs", recursive: true)) listed.Add(entry);

        Assert.Equal(["Budget.xlsx", "Notes.docx", "plain.txt"], listed.Select(f => f.Path).Order());
        var notes = listed.Single(f => f.Path == "Notes.docx");
        Assert.Equal((-1L, Docx), (notes.Size, notes.Properties["export"]));
        Assert.NotNull(notes.Version);
        Assert.Contains("Survey", Assert.Single(_log.Messages(501)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_ExportedName_ExportsInThatFormatAndOtherNamesAreNotFound()
    {
        var folder = Folder("export");
        var content = Random(5000, seed: 6);
        server.Google.Drive.PutFile(folder, "Notes", content, Document);
        var storage = server.Storage();
        server.Google.Requests.Clear();

        var docx = await ReadAllAsync(storage, $"{_top}/export/Notes.docx");
        var pdf = await ReadAllAsync(storage, $"{_top}/export/Notes.pdf");
        var stat = await storage.StatAsync($"{_top}/export/Notes.pdf");
        var unfit = await storage.StatAsync($"{_top}/export/Notes.xlsx");

        Assert.Equal(content, docx);
        Assert.Equal(content, pdf);
        Assert.Equal(["mimeType=" + Uri.EscapeDataString(Docx), "mimeType=application%2Fpdf"],
            server.Google.Requests.OfKind(RequestKind.DriveExport).Select(r => r.Query.TrimStart('?')));
        Assert.Equal(-1, stat!.Size);
        Assert.Null(unfit);
    }

    [Fact]
    public async Task OpenReadAsync_ExportAtAnOffsetOrOfAnotherVersion_SourceChanged()
    {
        var folder = Folder("offset");
        server.Google.Drive.PutFile(folder, "Notes", Random(100), Document);
        var storage = server.Storage();
        var info = (await storage.StatAsync($"{_top}/offset/Notes.docx"))!;

        await Assert.ThrowsAsync<SourceChangedException>(() => storage.OpenReadAsync($"{_top}/offset/Notes.docx", new ReadOptions { Offset = 10, IfVersion = info.Version }));
        await Assert.ThrowsAsync<SourceChangedException>(() => storage.OpenReadAsync($"{_top}/offset/Notes.docx", new ReadOptions { IfVersion = "export:docx:2001-01-01" }));
        await using var fromStart = await storage.OpenReadAsync($"{_top}/offset/Notes.docx", new ReadOptions { IfVersion = info.Version });
        Assert.NotNull(fromStart);
    }

    [Fact]
    public async Task ListAsync_NoExportFormats_DocumentsSkippedAndReadingOneIsAClearError()
    {
        var folder = Folder("noexport");
        server.Google.PutFile(folder, "plain.txt", Random(10));
        server.Google.Drive.PutFile(folder, "Notes", "{}"u8.ToArray(), Document);
        var storage = server.Storage(log: _log.Factory, exportFormats: []);

        var listed = new List<ObjectInfo>();
        await foreach (var entry in storage.ListAsync($"{_top}/noexport", recursive: true)) listed.Add(entry);
        var e = await Assert.ThrowsAsync<LoadPipeException>(() => storage.OpenReadAsync($"{_top}/noexport/Notes", ReadOptions.FromStart));

        Assert.Equal(["plain.txt"], listed.Select(f => f.Path));
        Assert.Contains("Google document", Assert.Single(_log.Messages(501)), StringComparison.Ordinal);
        Assert.Equal(ErrorKind.Permanent, e.Kind);
        Assert.Contains("export_formats", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_ExportOverTenMegabytes_PermanentErrorWithGooglesReason()
    {
        var folder = Folder("big");
        server.Google.Drive.PutFile(folder, "Huge", Random((10 << 20) + 1), Document);

        var e = await Assert.ThrowsAnyAsync<LoadPipeException>(() => ReadAllAsync(server.Storage(), $"{_top}/big/Huge.docx"));

        Assert.Equal(ErrorKind.Permanent, e.Kind);
        Assert.Contains("exportSizeLimitExceeded", e.Message, StringComparison.Ordinal);
    }

    private static async Task<byte[]> ReadAllAsync(IStorage storage, string path)
    {
        await using var stream = await storage.OpenReadAsync(path, ReadOptions.FromStart);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public async Task SharedDrive_ListStatAndRead_StartAtTheDriveAndEveryListingAsksForIt()
    {
        // The protocol server has no shared drives of its own: a folder's id stands for one (it ignores corpora and driveId,
        // as Drive scopes the search by them); what is checked is that paths start there and each search names the drive.
        var drive = Folder("shared");
        var content = Random(3000, seed: 8);
        server.Google.PutFile(server.Google.Drive.CreateFolder(drive, "team"), "plan.bin", content);
        var storage = server.Storage(sharedDriveId: drive);
        server.Google.Requests.Clear();

        var listed = await storage.ListAsync("", recursive: true).ToListAsync();
        var stat = await storage.StatAsync("team/plan.bin");
        await using var read = await storage.OpenReadAsync("team/plan.bin", ReadOptions.FromStart);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);

        Assert.Equal(["team", "team/plan.bin"], listed.Select(e => e.Path).Order());
        Assert.Equal(content.Length, stat!.Size);
        Assert.Equal(content, copy.ToArray());
        var searches = server.Google.Requests.OfKind(RequestKind.DriveList);
        Assert.NotEmpty(searches);
        Assert.All(searches, r =>
        {
            Assert.Contains("corpora=drive", r.Query, StringComparison.Ordinal);
            Assert.Contains("driveId=" + drive, r.Query, StringComparison.Ordinal);
            Assert.Contains("includeItemsFromAllDrives=true", r.Query, StringComparison.Ordinal);
            Assert.Contains("supportsAllDrives=true", r.Query, StringComparison.Ordinal);
        });
        Assert.All(server.Google.Requests.OfKind(RequestKind.DriveDownload), r => Assert.Contains("supportsAllDrives=true", r.Query, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListAsync_MissingFolder_ThrowsNotFound()
    {
        var e = await Assert.ThrowsAsync<LoadPipeException>(async () =>
        {
            await foreach (var _ in server.Storage().ListAsync($"{_top}/nothing/here", recursive: true)) { }
        });
        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task StatAsync_PathByNames_ReportsSizeMd5RevisionAndTime()
    {
        var content = Random(4321);
        var id = server.Google.PutFile(Folder("stat/x"), "file.bin", content);
        var stored = server.Google.Drive.Get(id)!;

        var info = await server.Storage().StatAsync($"{_top}/stat/x/file.bin");

        Assert.NotNull(info);
        Assert.Equal(content.Length, info.Size);
        Assert.Equal(Md5(content), info.Hashes["md5"]);
        Assert.Equal(stored.HeadRevisionId, info.Version);
        Assert.InRange((stored.ModifiedTime - info.Modified!.Value).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1)); // RFC 3339 to the millisecond
        Assert.False(info.IsDirectory);
        Assert.True((await server.Storage().StatAsync($"{_top}/stat/x"))!.IsDirectory);
        Assert.Null(await server.Storage().StatAsync($"{_top}/stat/x/other.bin"));
        Assert.Null(await server.Storage().StatAsync($"{_top}/stat/missing/file.bin"));
    }

    [Fact]
    public async Task StatAsync_IdPaths_ResolveFileAndNamesUnderAFolderId()
    {
        var folder = Folder("byid");
        var content = Random(77);
        var id = server.Google.PutFile(folder, "named.bin", content);

        var byId = await server.Storage().StatAsync($"id:{id}");
        var underFolder = await server.Storage().StatAsync($"id:{folder}/named.bin");

        Assert.Equal(77, byId!.Size);
        Assert.Equal(Md5(content), underFolder!.Hashes["md5"]);
        Assert.Null(await server.Storage().StatAsync("id:no-such-id"));
    }

    [Fact]
    public async Task StatAsync_DuplicateNames_PicksTheOldestAndWarns()
    {
        var folder = Folder("dups");
        var first = server.Google.PutFile(folder, "same.bin", Random(11));
        var second = server.Google.PutFile(folder, "same.bin", Random(22));
        var oldest = new[] { server.Google.Drive.Get(first)!, server.Google.Drive.Get(second)! }
            .OrderBy(f => f.CreatedTime.ToUnixTimeMilliseconds()).ThenBy(f => f.Id, StringComparer.Ordinal).First(); // Drive sends times to the millisecond

        var info = await server.Storage(log: _log.Factory).StatAsync($"{_top}/dups/same.bin");

        Assert.Equal(oldest.Size, info!.Size);
        Assert.Single(_log.Messages(500));
    }

    [Fact]
    public async Task StatAsync_NameWithQuote_IsEscapedInTheQuery()
    {
        var folder = Folder("quotes");
        server.Google.PutFile(folder, "it's \\ odd.txt", Random(5));

        var info = await server.Storage().StatAsync($"{_top}/quotes/it's \\ odd.txt");

        Assert.Equal(5, info!.Size);
    }

    [Fact]
    public async Task OpenReadAsync_FromOffset_ReturnsTheRestByRange()
    {
        var content = Random(700 * KiB, seed: 3);
        server.Google.PutFile(Folder("ranged"), "r.bin", content);
        server.Google.Requests.Clear();

        await using var stream = await server.Storage().OpenReadAsync($"{_top}/ranged/r.bin", new ReadOptions(Offset: 300_000));
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(content.AsSpan(300_000).ToArray(), copy.ToArray());
        var download = Assert.Single(server.Google.Requests.OfKind(RequestKind.DriveDownload));
        Assert.Equal("bytes=300000-", download.Range);
        Assert.Equal(206, download.Status);
    }

    [Fact]
    public async Task OpenReadAsync_AtTheEnd_IsEmpty()
    {
        server.Google.PutFile(Folder("end"), "e.bin", Random(100));

        await using var stream = await server.Storage().OpenReadAsync($"{_top}/end/e.bin", new ReadOptions(Offset: 100));

        Assert.Equal(0, await stream.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task OpenReadAsync_AnotherRevisionExpected_ThrowsSourceChanged()
    {
        server.Google.PutFile(Folder("changed"), "c.bin", Random(100));

        await Assert.ThrowsAsync<SourceChangedException>(() =>
            server.Storage().OpenReadAsync($"{_top}/changed/c.bin", new ReadOptions(Offset: 10, IfVersion: "an-old-revision")));
    }

    [Fact]
    public async Task OpenReadAsync_UnknownId_ThrowsNotFound()
    {
        var e = await Assert.ThrowsAsync<LoadPipeException>(() => server.Storage().OpenReadAsync("id:does-not-exist", ReadOptions.FromStart));

        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task CreateFolderAsync_NestedPath_CreatesEachFolderOnce()
    {
        var storage = server.Storage();

        await storage.CreateFolderAsync($"{_top}/made/a/b");
        await storage.CreateFolderAsync($"{_top}/made/a/b");
        await storage.CreateFolderAsync($"{_top}/made/a/c");

        var a = server.Google.FindByPath($"{_top}/made/a")!;
        Assert.True(a.IsFolder);
        Assert.Equal(["b", "c"], server.Google.Drive.Children(a.Id).Select(f => f.Name).Order());
        Assert.Single(server.Google.Drive.Children(server.Google.FindByPath($"{_top}/made")!.Id));
    }

    [Fact]
    public async Task StatAsync_ExpiredToken_RefreshedOnceAndAnswered()
    {
        server.Google.PutFile(Folder("token"), "t.bin", Random(9));
        var tokens = server.Tokens();
        server.Google.ExpireAllTokens();

        var info = await server.Storage(tokens).StatAsync($"{_top}/token/t.bin");

        Assert.Equal(9, info!.Size);
        Assert.Equal(1, tokens.Refreshes);
    }

    [Fact]
    public async Task StatAsync_MissingScope_IsAnAuthError()
    {
        var tokens = server.Tokens(Testing.Google.GoogleScopes.YouTubeUpload);

        var e = await Assert.ThrowsAsync<Http.GoogleApiException>(() => server.Storage(tokens).StatAsync($"{_top}/any.bin"));

        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Equal("insufficientPermissions", e.Reason);
        Assert.DoesNotContain(await tokens.GetAccessTokenAsync(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatAsync_RateLimited_IsTransientForTheEngineToRetry()
    {
        server.Google.Faults.RateLimit(RequestKind.DriveList);

        var e = await Assert.ThrowsAsync<Http.GoogleApiException>(() => server.Storage().StatAsync($"{_top}/limited.bin"));

        Assert.Equal(ErrorKind.Transient, e.Kind);
        Assert.Equal("userRateLimitExceeded", e.Reason);
    }
}
