using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Streams;
using LoadPipe.Google.Http;
using LoadPipe.Google.Upload;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// Google Drive through its v3 REST API, hand-written on HttpClient (no Google.Apis.Drive.v3 package here; uploads
/// go through <see cref="ResumableUploadClient"/>, which the engine can feed chunk by chunk). Paths are names from
/// the remote's root folder, or start at an id (<see cref="DrivePath"/>); each name is found with files.list
/// (<c>name = '..' and 'PARENT' in parents and trashed = false</c>), folder ids are cached by path. Of several files
/// with one name in a folder, the oldest (createdTime, then id) is used, with a warning.
/// <para>Identity: headRevisionId (the version), size, modifiedTime, md5Checksum. Google documents (Docs, Sheets...)
/// have no bytes: they are listed and read as exports, <c>NAME.docx</c> and so on (<see cref="DriveExport"/>). Reads are <c>alt=media</c> downloads with Range, refused with
/// <see cref="SourceChangedException"/> when the head revision is not the expected one. Writes are resumable upload
/// sessions (<see cref="GoogleDriveWriteSession"/>); a name that already holds a file gets a new revision of it rather
/// than a second file of that name. Missing parent folders are created.</para>
/// </summary>
public sealed class GoogleDriveStorage : IStorage, IRangedReader, ISnapshotReads, IWritableStorage, IResumableWriter
{
    private readonly GoogleDriveOptions _options;
    private readonly ConcurrentDictionary<string, string> _folderIds = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _folderCreation = new(1, 1);

    public GoogleDriveStorage(GoogleDriveOptions options, GoogleApiClient api, ILogger? logger = null)
    {
        _options = options;
        Api = api;
        Uploads = new ResumableUploadClient(api);
        Logger = logger ?? NullLogger.Instance;
    }

    public string Description => $"Google Drive '{_options.Name}'";

    internal GoogleApiClient Api { get; }

    internal ResumableUploadClient Uploads { get; }

    internal ILogger Logger { get; }

    internal DrivePath Parse(string path) => DrivePath.Parse(_options.Name, _options.RootFolderId, path);

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var where = Parse(path);
        var folder = await ResolveAsync(where, cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.NotFound, $"{where}: no such folder");
        if (!folder.IsFolder) throw new LoadPipeException(ErrorKind.NotFound, $"{where}: is a file, not a folder");
        // Depth first, one folder's pages at a time: only the folders still to visit are held.
        var pending = new Stack<(string Id, string Prefix)>();
        pending.Push((folder.Id, ""));
        while (pending.TryPop(out var next))
        {
            var subfolders = new List<(string, string)>();
            await foreach (var file in ChildrenAsync(next.Id, null, cancellationToken).ConfigureAwait(false))
            {
                var relative = next.Prefix + file.Name;
                if (file.IsFolder)
                {
                    if (recursive) subfolders.Add((file.Id, relative + "/"));
                    yield return new ObjectInfo { Path = relative, IsDirectory = true, Modified = file.ModifiedTime, Properties = new Dictionary<string, string> { ["id"] = file.Id } };
                }
                else if (file.IsGoogleDocument)
                {
                    if (DriveExport.Preferred(file.MimeType, _options.ExportFormats) is { } format)
                        yield return DescribeExport($"{relative}.{format}", file, format);
                    else Logger.SkippedGoogleDocument($"{where}/{relative}", file.MimeType);
                }
                else
                    yield return Describe(relative, file);
            }
            // Pushed in reverse so that subfolders are visited in the order they were listed.
            for (var i = subfolders.Count - 1; i >= 0; i--) pending.Push(subfolders[i]);
        }
    }

    public async Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        var where = Parse(path);
        if (await ResolveReadableAsync(where, cancellationToken).ConfigureAwait(false) is not var (file, export)) return null;
        if (file.IsFolder)
            return new ObjectInfo { Path = path, IsDirectory = true, Modified = file.ModifiedTime, Properties = new Dictionary<string, string> { ["id"] = file.Id } };
        return export is null ? Describe(path, file) : DescribeExport(path, file, export);
    }

    public async Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        var where = Parse(path);
        var (file, export) = await ResolveReadableAsync(where, cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.NotFound, $"{where}: no such file");
        if (file.IsFolder) throw new LoadPipeException(ErrorKind.Usage, $"{where}: is a folder");
        if (export is not null) return await OpenExportAsync(where, file, export, options, cancellationToken).ConfigureAwait(false);
        if (file.IsGoogleDocument)
            throw new LoadPipeException(ErrorKind.Permanent,
                $"{where}: is a Google document ({file.MimeType}); it has no bytes to copy, only exports, and none of the remote's export_formats ({string.Join(",", _options.ExportFormats)}) fits it");
        if (options.IfVersion is { } expected && file.HeadRevisionId != expected)
            throw new SourceChangedException($"{where} changed since the transfer started (revision {expected} -> {file.HeadRevisionId ?? "none"})");
        if (options.Offset > 0 && file.Size is { } size && options.Offset >= size) return Stream.Null;

        var uri = new Uri($"{_options.ApiUrl}/files/{Uri.EscapeDataString(file.Id)}?alt=media&supportsAllDrives=true");
        var response = await Api.SendRawAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (options.Offset > 0) request.Headers.Range = new RangeHeaderValue(options.Offset, null);
            return request;
        }, $"{where}: download", HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && options.Offset > 0)
        {
            // Asked to start at the very end: nothing more. A source that really shrank is caught by the engine.
            response.Dispose();
            return Stream.Null;
        }
        if (!response.IsSuccessStatusCode)
            throw await GoogleErrors.FromResponseAsync(response, $"{where}: download", cancellationToken).ConfigureAwait(false);
        if (options.Offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
        {
            response.Dispose();
            throw new LoadPipeException(ErrorKind.Permanent, $"{where}: the server ignored the range asked for (HTTP {(int)response.StatusCode})");
        }
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return new IdleTimeoutStream(body, response, GoogleDriveDefaults.ReadIdleTimeout, where.ToString());
    }

    /// <summary>files.export of a document. An export is made afresh on every request and its bytes may differ between
    /// two (a docx holds times): it is never resumed at an offset, and the engine starts it again from zero instead.</summary>
    private async Task<Stream> OpenExportAsync(DrivePath where, DriveFile document, string format, ReadOptions options, CancellationToken cancellationToken)
    {
        var version = DriveExport.Version(document, format);
        if (options.IfVersion is { } expected && version != expected)
            throw new SourceChangedException($"{where} changed since the transfer started (the document was modified)");
        if (options.Offset > 0)
            throw new SourceChangedException($"{where}: an export is made afresh on each request, so it cannot be resumed at byte {options.Offset}");
        var uri = new Uri($"{_options.ApiUrl}/files/{Uri.EscapeDataString(document.Id)}/export?mimeType={Uri.EscapeDataString(DriveExport.MimeTypeOf(format))}");
        var response = await Api.SendRawAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), $"{where}: export",
            HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw await GoogleErrors.FromResponseAsync(response, $"{where}: export", cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return new IdleTimeoutStream(body, response, GoogleDriveDefaults.ReadIdleTimeout, where.ToString());
    }

    public async Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) =>
        await EnsureFolderAsync(Parse(path), cancellationToken).ConfigureAwait(false);

    public async Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
    {
        var where = Parse(path);
        DriveFile? existing;
        string? parentId = null;
        if (where.IsStart)
        {
            // "id:FILE_ID": a new revision of that file.
            existing = await GetAsync(where.StartId, where, cancellationToken).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.NotFound, $"{where}: no such file");
        }
        else
        {
            parentId = await EnsureFolderAsync(where.Parent, cancellationToken).ConfigureAwait(false);
            existing = await FindChildAsync(parentId, where.Name, where, cancellationToken).ConfigureAwait(false);
        }
        if (existing is { IsFolder: true }) throw new LoadPipeException(ErrorKind.Usage, $"{where}: is a folder; give a file name");
        if (existing is { IsGoogleDocument: true })
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: is a Google document ({existing.MimeType}); it cannot take uploaded bytes");

        var metadata = new Dictionary<string, object>();
        if (request.Modified is { } modified) metadata["modifiedTime"] = modified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        Uri initiate;
        HttpMethod method;
        var query = $"uploadType=resumable&supportsAllDrives=true&fields={Uri.EscapeDataString(DriveFile.Fields)}";
        if (existing is null)
        {
            metadata["name"] = where.Name;
            metadata["parents"] = new[] { parentId! };
            method = HttpMethod.Post;
            initiate = new Uri($"{_options.UploadUrl}/files?{query}");
        }
        else
        {
            method = HttpMethod.Patch;
            initiate = new Uri($"{_options.UploadUrl}/files/{Uri.EscapeDataString(existing.Id)}?{query}");
        }
        var json = JsonSerializer.Serialize(metadata, DriveJson.Default.DictionaryStringObject);
        var session = await Uploads.StartAsync(method, initiate, json, request.ExpectedSize, request.ContentType, $"{where}: start upload", cancellationToken)
            .ConfigureAwait(false);
        Logger.UploadStarted(where.ToString(), existing is null ? "new file" : "new revision of " + existing.Id);
        var state = new ResumableUploadState(session.AbsoluteUri, path, request.ExpectedSize);
        return new GoogleDriveWriteSession(this, where, state, new ResumableUploadSession(Uploads, session, request.ExpectedSize, $"{where}: upload"));
    }

    public async Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default) =>
        await GoogleDriveWriteSession.ResumeAsync(this, Parse(path), resumeState, confirmedLength, cancellationToken).ConfigureAwait(false);

    /// <summary>The file or folder at <paramref name="where"/>, or null when a name on the way is missing.</summary>
    internal async Task<DriveFile?> ResolveAsync(DrivePath where, CancellationToken cancellationToken)
    {
        if (where.IsStart)
        {
            // The root needs no request: Drive's "root" alias, or the configured folder, is a folder.
            return where.ById ? await GetAsync(where.StartId, where, cancellationToken).ConfigureAwait(false)
                : new DriveFile { Id = where.StartId, Name = "", MimeType = GoogleDriveDefaults.FolderMimeType };
        }
        var parentId = await FindFolderAsync(where.Parent, cancellationToken).ConfigureAwait(false);
        if (parentId is null) return null;
        var file = await FindChildAsync(parentId, where.Name, where, cancellationToken).ConfigureAwait(false);
        if (file is { IsFolder: true }) Remember(where, file.Id);
        return file;
    }

    /// <summary>What a read of <paramref name="where"/> gets: the file there, with the format to export it to when it is a
    /// Google document; else, for a name such as "Report.docx", the document "Report" when its kind exports to docx.</summary>
    private async Task<(DriveFile File, string? Export)?> ResolveReadableAsync(DrivePath where, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(where, cancellationToken).ConfigureAwait(false) is { } file)
            return (file, file.IsGoogleDocument ? DriveExport.Preferred(file.MimeType, _options.ExportFormats) : null);
        if (where.IsStart || _options.ExportFormats.Count == 0 || DriveExport.Split(where.Name) is not var (stem, format)) return null;
        var parentId = await FindFolderAsync(where.Parent, cancellationToken).ConfigureAwait(false);
        if (parentId is null) return null;
        var document = await FindChildAsync(parentId, stem, where, cancellationToken).ConfigureAwait(false);
        return document is { IsGoogleDocument: true } && DriveExport.Allows(document.MimeType, format) ? (document, format) : null;
    }

    /// <summary>The id of the folder at <paramref name="where"/>, or null when it (or a folder above it) is missing.</summary>
    private async Task<string?> FindFolderAsync(DrivePath where, CancellationToken cancellationToken)
    {
        if (where.IsStart) return where.StartId;
        if (_folderIds.TryGetValue(where.Key, out var cached)) return cached;
        var parentId = await FindFolderAsync(where.Parent, cancellationToken).ConfigureAwait(false);
        if (parentId is null) return null;
        var folder = await FindChildAsync(parentId, where.Name, where, cancellationToken, foldersOnly: true).ConfigureAwait(false);
        if (folder is null) return null;
        Remember(where, folder.Id);
        return folder.Id;
    }

    /// <summary>mkdir -p: the id of the folder at <paramref name="where"/>, creating it and its parents as needed.</summary>
    private async Task<string> EnsureFolderAsync(DrivePath where, CancellationToken cancellationToken)
    {
        if (await FindFolderAsync(where, cancellationToken).ConfigureAwait(false) is { } id) return id;
        var parentId = await EnsureFolderAsync(where.Parent, cancellationToken).ConfigureAwait(false);
        // One creation at a time per remote, looking again under the lock: two transfers into one new folder must
        // not make two folders of that name.
        await _folderCreation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var existing = await FindChildAsync(parentId, where.Name, where, cancellationToken, foldersOnly: true).ConfigureAwait(false);
            if (existing is not null)
            {
                Remember(where, existing.Id);
                return existing.Id;
            }
            var json = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["name"] = where.Name, ["mimeType"] = GoogleDriveDefaults.FolderMimeType, ["parents"] = new[] { parentId },
            }, DriveJson.Default.DictionaryStringObject);
            var uri = new Uri($"{_options.ApiUrl}/files?supportsAllDrives=true&fields={Uri.EscapeDataString(DriveFile.Fields)}");
            var created = await GetJsonAsync(() => new HttpRequestMessage(HttpMethod.Post, uri)
            {
                Content = new StringContent(json, Encoding.UTF8, "application/json"),
            }, DriveJson.Default.DriveFile, $"{where}: create folder", cancellationToken).ConfigureAwait(false);
            Logger.FolderCreated(where.ToString(), created.Id);
            Remember(where, created.Id);
            return created.Id;
        }
        finally
        {
            _folderCreation.Release();
        }
    }

    /// <summary>files.get; null on 404.</summary>
    internal async Task<DriveFile?> GetAsync(string id, DrivePath where, CancellationToken cancellationToken)
    {
        var uri = new Uri($"{_options.ApiUrl}/files/{Uri.EscapeDataString(id)}?supportsAllDrives=true&fields={Uri.EscapeDataString(DriveFile.Fields)}");
        try
        {
            var file = await GetJsonAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), DriveJson.Default.DriveFile, $"{where}: get", cancellationToken)
                .ConfigureAwait(false);
            return file.Trashed ? null : file;
        }
        catch (GoogleApiException e) when (e.Kind == ErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>The child named <paramref name="name"/>; of several, the oldest (createdTime, then id).</summary>
    private async Task<DriveFile?> FindChildAsync(string parentId, string name, DrivePath where, CancellationToken cancellationToken, bool foldersOnly = false)
    {
        DriveFile? chosen = null;
        var count = 0;
        await foreach (var file in ChildrenAsync(parentId, name, cancellationToken).ConfigureAwait(false))
        {
            if (file.Name != name || (foldersOnly && !file.IsFolder)) continue;
            count++;
            if (chosen is null || Older(file, chosen)) chosen = file;
        }
        if (count > 1 && chosen is not null) Logger.DuplicateName(where.ToString(), count, chosen.Id);
        return chosen;

        static bool Older(DriveFile a, DriveFile b) =>
            (a.CreatedTime ?? DateTimeOffset.MaxValue) < (b.CreatedTime ?? DateTimeOffset.MaxValue)
            || ((a.CreatedTime ?? DateTimeOffset.MaxValue) == (b.CreatedTime ?? DateTimeOffset.MaxValue) && string.CompareOrdinal(a.Id, b.Id) < 0);
    }

    /// <summary>files.list of one folder (only <paramref name="name"/> when given), page by page.</summary>
    private async IAsyncEnumerable<DriveFile> ChildrenAsync(string parentId, string? name, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var q = $"{DrivePath.Quote(parentId)} in parents and trashed = false";
        if (name is not null) q = $"name = {DrivePath.Quote(name)} and {q}";
        var common = new StringBuilder()
            .Append("q=").Append(Uri.EscapeDataString(q))
            .Append("&pageSize=").Append(name is null ? _options.ListPageSize : 100)
            .Append("&fields=").Append(Uri.EscapeDataString($"nextPageToken,files({DriveFile.Fields})"))
            .Append("&supportsAllDrives=true&includeItemsFromAllDrives=true");
        if (_options.SharedDriveId is { } drive) common.Append("&corpora=drive&driveId=").Append(Uri.EscapeDataString(drive));
        string? token = null;
        do
        {
            var uri = new Uri($"{_options.ApiUrl}/files?{common}{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}");
            var page = await GetJsonAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), DriveJson.Default.DriveFileList,
                $"{_options.Name}: list folder {parentId}", cancellationToken).ConfigureAwait(false);
            foreach (var file in page.Files ?? []) yield return file;
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    internal async Task<T> GetJsonAsync<T>(Func<HttpRequestMessage> create, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what,
        CancellationToken cancellationToken)
    {
        using var response = await Api.SendAsync(create, what, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return ParseJson(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false), type, what);
    }

    internal static T ParseJson<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: the server's answer is not the JSON expected ({e.Message})", e);
        }
    }

    private void Remember(DrivePath where, string id)
    {
        if (_folderIds.Count >= GoogleDriveDefaults.FolderCacheSize) _folderIds.Clear();
        _folderIds[where.Key] = id;
    }

    /// <summary>A Google document as the engine sees it: the export, of unknown size, whose version follows the document's
    /// modifiedTime.</summary>
    internal static ObjectInfo DescribeExport(string path, DriveFile document, string format) => new()
    {
        Path = path,
        Size = -1,
        Modified = document.ModifiedTime,
        Version = DriveExport.Version(document, format),
        Properties = new Dictionary<string, string> { ["id"] = document.Id, ["export"] = DriveExport.MimeTypeOf(format) },
    };

    /// <summary>A file as the engine sees it: its head revision is the version, its md5Checksum a hash.</summary>
    internal static ObjectInfo Describe(string path, DriveFile file) => new()
    {
        Path = path,
        Size = file.Size ?? -1,
        Modified = file.ModifiedTime,
        Version = file.HeadRevisionId,
        Hashes = file.Md5Checksum is { Length: > 0 } md5
            ? new Dictionary<string, string> { ["md5"] = md5.ToLowerInvariant() }
            : new Dictionary<string, string>(),
        Properties = new Dictionary<string, string> { ["id"] = file.Id },
    };
}
