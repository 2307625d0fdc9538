using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace LoadPipe.Testing.Google.Drive;

/// <summary>What a test sees of a stored Drive file or folder (a snapshot).</summary>
public sealed record DriveFileInfo(
    string Id,
    string Name,
    string MimeType,
    IReadOnlyList<string> Parents,
    bool Trashed,
    long? Size,
    string? Md5Checksum,
    DateTimeOffset CreatedTime,
    DateTimeOffset ModifiedTime,
    string? HeadRevisionId,
    IReadOnlyDictionary<string, string> AppProperties)
{
    public bool IsFolder => MimeType == DriveStore.FolderMimeType;
}

/// <summary>
/// The files of the fake Drive: metadata in memory, each revision's content in its own file on disk (so a 1 GiB
/// file costs no memory). Thread-safe: one lock guards the metadata; content files are written before they are
/// published and never changed afterwards.
/// </summary>
public sealed class DriveStore
{
    public const string FolderMimeType = "application/vnd.google-apps.folder";

    private readonly object _gate = new();
    private readonly Dictionary<string, DriveFile> _files = new(StringComparer.Ordinal);
    private readonly string _blobDirectory;
    private readonly TimeProvider _time;

    internal DriveStore(string dataDirectory, TimeProvider time)
    {
        _blobDirectory = Path.Combine(dataDirectory, "drive");
        Directory.CreateDirectory(_blobDirectory);
        _time = time;
        RootFolderId = NewId();
        var now = Millis(time.GetUtcNow());
        _files[RootFolderId] = new DriveFile(RootFolderId) { Name = "My Drive", MimeType = FolderMimeType, CreatedTime = now, ModifiedTime = now };
    }

    /// <summary>The id of "My Drive"; the API also accepts the alias <c>root</c>.</summary>
    public string RootFolderId { get; }

    /// <summary>The account's id in Drive (about.get's user.permissionId), one per server: one account.</summary>
    public string PermissionId { get; } = "0" + string.Concat(Enumerable.Range(0, 19).Select(i => (char)('0' + Random.Shared.Next(10))));

    public string CreateFolder(string parentId, string name)
    {
        lock (_gate)
        {
            var parent = RequireFolder(parentId);
            var now = Now();
            var folder = new DriveFile(NewId()) { Name = name, MimeType = FolderMimeType, CreatedTime = now, ModifiedTime = now };
            folder.Parents.Add(parent.Id);
            _files[folder.Id] = folder;
            return folder.Id;
        }
    }

    /// <summary>Creates every missing folder of <paramref name="path"/> ("a/b/c") under the root; returns the last one's id.</summary>
    public string CreateFolders(string path)
    {
        var id = RootFolderId;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            id = FindChild(id, part)?.Id ?? CreateFolder(id, part);
        }
        return id;
    }

    public string PutFile(string parentId, string name, byte[] content, string mimeType = "application/octet-stream") =>
        PutFile(parentId, name, new MemoryStream(content, writable: false), mimeType);

    /// <summary>Stores a new file with the content of <paramref name="content"/> (streamed to disk); returns its id.</summary>
    public string PutFile(string parentId, string name, Stream content, string mimeType = "application/octet-stream")
    {
        lock (_gate)
        {
            RequireFolder(parentId);
        }
        var blob = NewBlobPath();
        long size;
        string md5;
        using (var md5Hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5))
        using (var file = new FileStream(blob, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16))
        {
            var buffer = new byte[1 << 16];
            int n;
            size = 0;
            while ((n = content.Read(buffer)) > 0)
            {
                file.Write(buffer, 0, n);
                md5Hash.AppendData(buffer, 0, n);
                size += n;
            }
            md5 = Convert.ToHexStringLower(md5Hash.GetHashAndReset());
        }
        var metadata = new JsonObject { ["name"] = name, ["mimeType"] = mimeType, ["parents"] = new JsonArray(parentId) };
        return CreateWithContent(metadata, blob, size, md5).Id;
    }

    public DriveFileInfo? Get(string id)
    {
        lock (_gate)
        {
            return _files.TryGetValue(Resolve(id), out var f) ? f.Snapshot() : null;
        }
    }

    /// <summary>The file or folder at "a/b/c" under the root, not trashed; null when there is none.</summary>
    public DriveFileInfo? FindByPath(string path)
    {
        lock (_gate)
        {
            var current = _files[RootFolderId];
            foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var next = FindChild(current.Id, part);
                if (next is null)
                {
                    return null;
                }
                current = next;
            }
            return current.Snapshot();
        }
    }

    /// <summary>Children of a folder, trashed ones included, ordered by name.</summary>
    public IReadOnlyList<DriveFileInfo> Children(string folderId)
    {
        lock (_gate)
        {
            var id = Resolve(folderId);
            return _files.Values.Where(f => f.Parents.Contains(id)).OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => f.Snapshot()).ToList();
        }
    }

    public IReadOnlyList<DriveFileInfo> All()
    {
        lock (_gate)
        {
            return _files.Values.Select(f => f.Snapshot()).ToList();
        }
    }

    public byte[] GetContent(string id)
    {
        using var stream = OpenContent(id);
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    public Stream OpenContent(string id)
    {
        string? blob;
        lock (_gate)
        {
            blob = _files.TryGetValue(Resolve(id), out var f) ? f.BlobPath : null;
        }
        if (blob is null)
        {
            throw new FileNotFoundException($"no Drive file with content has the id {id}");
        }
        return new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
    }

    public void Trash(string id) => Update(id, f => f.Trashed = true);

    public void Delete(string id)
    {
        List<string> blobs = [];
        lock (_gate)
        {
            DeleteRecursive(Resolve(id), blobs);
        }
        foreach (var blob in blobs)
        {
            File.Delete(blob);
        }
    }

    // ------------------------------------------------------------------ used by the API handlers
    internal string Resolve(string id) => id == "root" ? RootFolderId : id;

    internal bool TryGet(string id, out DriveFile file)
    {
        lock (_gate)
        {
            return _files.TryGetValue(Resolve(id), out file!);
        }
    }

    internal List<DriveFile> Query(Func<DriveFile, bool> predicate)
    {
        lock (_gate)
        {
            return _files.Values.Where(f => f.Id != RootFolderId && predicate(f))
                .OrderBy(f => f.Name, StringComparer.Ordinal).ThenBy(f => f.Id, StringComparer.Ordinal)
                .Select(f => f.Clone()).ToList();
        }
    }

    /// <summary>The first folder in <paramref name="parents"/> that does not exist, or null when all do.</summary>
    internal string? MissingParent(IEnumerable<string> parents)
    {
        lock (_gate)
        {
            return parents.FirstOrDefault(p => !_files.TryGetValue(Resolve(p), out var f) || f.MimeType != FolderMimeType);
        }
    }

    /// <summary>files.create without media: a folder, or an empty file.</summary>
    internal DriveFile CreateFromMetadata(JsonObject metadata)
    {
        if ((string?)metadata["mimeType"] == FolderMimeType)
        {
            lock (_gate)
            {
                var now = Now();
                var folder = new DriveFile(NewId()) { CreatedTime = now, ModifiedTime = now, MimeType = FolderMimeType };
                Apply(folder, metadata, isNew: true);
                _files[folder.Id] = folder;
                return folder.Clone();
            }
        }
        var blob = NewBlobPath();
        File.WriteAllBytes(blob, []);
        return CreateWithContent(metadata, blob, 0, Convert.ToHexStringLower(MD5.HashData(ReadOnlySpan<byte>.Empty)));
    }

    /// <summary>Publishes a finished upload as a new file; the store takes ownership of <paramref name="blob"/>.</summary>
    internal DriveFile CreateWithContent(JsonObject metadata, string blob, long size, string md5)
    {
        lock (_gate)
        {
            var now = Now();
            var file = new DriveFile(NewId()) { CreatedTime = now, ModifiedTime = now, MimeType = "application/octet-stream" };
            Apply(file, metadata, isNew: true);
            file.BlobPath = blob;
            file.Size = size;
            file.Md5 = md5;
            file.HeadRevisionId = NewRevisionId();
            _files[file.Id] = file;
            return file.Clone();
        }
    }

    /// <summary>Publishes a finished upload as a new revision of <paramref name="id"/>; null when the file is gone.</summary>
    internal DriveFile? ReplaceContent(string id, JsonObject metadata, string blob, long size, string md5)
    {
        string? old;
        DriveFile result;
        lock (_gate)
        {
            if (!_files.TryGetValue(Resolve(id), out var file) || file.MimeType == FolderMimeType)
            {
                return null;
            }
            old = file.BlobPath;
            Apply(file, metadata, isNew: false);
            if (metadata["modifiedTime"] is null)
            {
                file.ModifiedTime = Now();
            }
            file.BlobPath = blob;
            file.Size = size;
            file.Md5 = md5;
            file.HeadRevisionId = NewRevisionId();
            result = file.Clone();
        }
        if (old is not null)
        {
            File.Delete(old);
        }
        return result;
    }

    /// <summary>files.update (metadata only): name, mimeType, trashed, description, modifiedTime, appProperties, addParents/removeParents.</summary>
    internal DriveFile? UpdateMetadata(string id, JsonObject metadata, IEnumerable<string> addParents, IEnumerable<string> removeParents)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(Resolve(id), out var file))
            {
                return null;
            }
            Apply(file, metadata, isNew: false);
            foreach (var p in removeParents)
            {
                file.Parents.Remove(Resolve(p));
            }
            foreach (var p in addParents)
            {
                if (!file.Parents.Contains(Resolve(p)))
                {
                    file.Parents.Add(Resolve(p));
                }
            }
            return file.Clone();
        }
    }

    /// <summary>Drive keeps times to the millisecond (RFC 3339 with 3 decimals): stored times are the ones the API returns.</summary>
    private DateTimeOffset Now() => Millis(_time.GetUtcNow());

    private static DateTimeOffset Millis(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    internal string NewBlobPath() => Path.Combine(_blobDirectory, Guid.NewGuid().ToString("N"));

    internal static string NewId() => "1" + OAuth.OAuthAuthority.RandomId(32);

    private static string NewRevisionId() => "0B" + OAuth.OAuthAuthority.RandomId(42);

    private void Apply(DriveFile file, JsonObject metadata, bool isNew)
    {
        if (metadata["name"] is { } name)
        {
            file.Name = (string?)name ?? "";
        }
        else if (isNew)
        {
            file.Name = "Untitled";
        }
        if ((string?)metadata["mimeType"] is { } mime && (isNew || file.MimeType != FolderMimeType))
        {
            file.MimeType = mime;
        }
        if (metadata["trashed"] is { } trashed)
        {
            file.Trashed = (bool)trashed;
        }
        if (metadata["description"] is { } description)
        {
            file.Description = (string?)description;
        }
        if ((string?)metadata["modifiedTime"] is { } modified)
        {
            file.ModifiedTime = Millis(DateTimeOffset.Parse(modified, System.Globalization.CultureInfo.InvariantCulture));
        }
        if (metadata["appProperties"] is JsonObject props)
        {
            foreach (var (key, value) in props)
            {
                if (value is null)
                {
                    file.AppProperties.Remove(key);
                }
                else
                {
                    file.AppProperties[key] = value.ToString();
                }
            }
        }
        if (isNew)
        {
            file.Parents.Clear();
            if (metadata["parents"] is JsonArray parents && parents.Count > 0)
            {
                file.Parents.AddRange(parents.Select(p => Resolve((string?)p ?? "")));
            }
            else
            {
                file.Parents.Add(RootFolderId);
            }
        }
    }

    private DriveFile RequireFolder(string id)
    {
        if (!_files.TryGetValue(Resolve(id), out var f) || f.MimeType != FolderMimeType)
        {
            throw new ArgumentException($"no folder has the id {id}", nameof(id));
        }
        return f;
    }

    private DriveFile? FindChild(string parentId, string name)
    {
        lock (_gate)
        {
            return _files.Values.Where(f => !f.Trashed && f.Name == name && f.Parents.Contains(parentId)).OrderBy(f => f.CreatedTime).FirstOrDefault();
        }
    }

    private void Update(string id, Action<DriveFile> change)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(Resolve(id), out var f))
            {
                throw new ArgumentException($"no file has the id {id}", nameof(id));
            }
            change(f);
        }
    }

    private void DeleteRecursive(string id, List<string> blobs)
    {
        if (!_files.Remove(id, out var file))
        {
            return;
        }
        if (file.BlobPath is not null)
        {
            blobs.Add(file.BlobPath);
        }
        foreach (var child in _files.Values.Where(f => f.Parents.Contains(id)).Select(f => f.Id).ToList())
        {
            DeleteRecursive(child, blobs);
        }
    }
}

/// <summary>One stored file or folder (mutable; guarded by the store's lock).</summary>
internal sealed class DriveFile(string id)
{
    public string Id { get; } = id;

    /// <summary>Docs, Sheets, Slides...: any Google type but a folder.</summary>
    public bool IsGoogleDocument => MimeType.StartsWith("application/vnd.google-apps.", StringComparison.Ordinal) && MimeType != DriveStore.FolderMimeType;

    public string Name { get; set; } = "";
    public string MimeType { get; set; } = "";
    public List<string> Parents { get; private init; } = [];
    public bool Trashed { get; set; }
    public long? Size { get; set; }
    public string? Md5 { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedTime { get; set; }
    public DateTimeOffset ModifiedTime { get; set; }
    public string? HeadRevisionId { get; set; }
    public string? BlobPath { get; set; }
    public Dictionary<string, string> AppProperties { get; private init; } = new(StringComparer.Ordinal);

    public DriveFile Clone()
    {
        return new DriveFile(Id)
        {
            Name = Name, MimeType = MimeType, Parents = [.. Parents], Trashed = Trashed, Size = Size, Md5 = Md5, Description = Description,
            CreatedTime = CreatedTime, ModifiedTime = ModifiedTime, HeadRevisionId = HeadRevisionId, BlobPath = BlobPath,
            AppProperties = new Dictionary<string, string>(AppProperties, StringComparer.Ordinal),
        };
    }

    public DriveFileInfo Snapshot() =>
        new(Id, Name, MimeType, [.. Parents], Trashed, Size, Md5, CreatedTime, ModifiedTime, HeadRevisionId, new Dictionary<string, string>(AppProperties));

    /// <summary>The Drive v3 File resource (https://developers.google.com/drive/api/reference/rest/v3/files).</summary>
    public JsonObject ToJson(string rootId)
    {
        var json = new JsonObject
        {
            ["kind"] = "drive#file",
            ["id"] = Id,
            ["name"] = Name,
            ["mimeType"] = MimeType,
        };
        if (Id != rootId)
        {
            json["parents"] = new JsonArray([.. Parents.Select(p => (JsonNode)p)]);
        }
        json["trashed"] = Trashed;
        json["createdTime"] = Rfc3339(CreatedTime);
        json["modifiedTime"] = Rfc3339(ModifiedTime);
        if (Description is not null)
        {
            json["description"] = Description;
        }
        // Google documents have no size, checksum or revision of bytes: only exports.
        if (MimeType != DriveStore.FolderMimeType && BlobPath is not null && !IsGoogleDocument)
        {
            json["size"] = (Size ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
            json["md5Checksum"] = Md5;
            json["headRevisionId"] = HeadRevisionId;
        }
        if (AppProperties.Count > 0)
        {
            var props = new JsonObject();
            foreach (var (k, v) in AppProperties)
            {
                props[k] = v;
            }
            json["appProperties"] = props;
        }
        return json;
    }

    public static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
