using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>The defaults of a `type: gdrive` remote, in one place; docs/adapters/gdrive.md repeats them.</summary>
public static class GoogleDriveDefaults
{
    public const string ApiUrl = "https://www.googleapis.com/drive/v3";
    public const string UploadUrl = "https://www.googleapis.com/upload/drive/v3";

    /// <summary>Full Drive access: reading any file the account sees and writing new files and revisions.</summary>
    public const string Scope = "https://www.googleapis.com/auth/drive";

    /// <summary>The alias Drive gives the account's "My Drive" folder.</summary>
    public const string RootFolderId = "root";

    public const string FolderMimeType = "application/vnd.google-apps.folder";

    /// <summary>The largest page files.list returns.</summary>
    public const int ListPageSize = 1000;

    /// <summary>Folder ids remembered by path, per remote; the cache is emptied when it reaches this.</summary>
    public const int FolderCacheSize = 4096;

    /// <summary>A download that gets no byte for this long fails as transient and is reopened at its offset.</summary>
    public static readonly TimeSpan ReadIdleTimeout = TimeSpan.FromSeconds(60);
}

/// <summary>One gdrive remote's settings. Every property has a default, stated on it.</summary>
public sealed class GoogleDriveOptions
{
    /// <summary>The remote's name, for messages.</summary>
    public required string Name { get; init; }

    /// <summary>Drive v3's REST root. Default <see cref="GoogleDriveDefaults.ApiUrl"/>.</summary>
    public Uri ApiUrl { get; init; } = new(GoogleDriveDefaults.ApiUrl);

    /// <summary>Drive v3's upload root. Default <see cref="GoogleDriveDefaults.UploadUrl"/>.</summary>
    public Uri UploadUrl { get; init; } = new(GoogleDriveDefaults.UploadUrl);

    /// <summary>The folder paths start from. Default "root" (My Drive), or the shared drive when one is set.</summary>
    public string RootFolderId { get; init; } = GoogleDriveDefaults.RootFolderId;

    /// <summary>A shared drive to list and search in (its id). Default none: My Drive and what is shared with it.</summary>
    public string? SharedDriveId { get; init; }

    /// <summary>Files per listing request, 1 to 1000. Default 1000.</summary>
    public int ListPageSize { get; init; } = GoogleDriveDefaults.ListPageSize;

    /// <summary>Formats Google documents are exported to, by extension, in order of preference (see <see cref="DriveExport"/>).
    /// Default docx, xlsx, pptx, svg; empty: documents are skipped.</summary>
    public IReadOnlyList<string> ExportFormats { get; init; } = DriveExport.ParseFormats(DriveExport.DefaultFormats, "default");

    /// <summary>Reads a remote definition's settings (the factory's list of names).</summary>
    public static GoogleDriveOptions From(RemoteDefinition remote)
    {
        var where = $"{(remote.Origin.Length > 0 ? remote.Origin + ": " : "")}remote '{remote.Name}' (type gdrive)";
        var shared = NonEmpty(remote.Get("shared_drive_id"));
        var pageSize = GoogleDriveDefaults.ListPageSize;
        if (remote.Get("list_chunk") is { } chunk
            && (!int.TryParse(chunk, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize < 1 || pageSize > GoogleDriveDefaults.ListPageSize))
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: list_chunk '{chunk}' must be a whole number from 1 to {GoogleDriveDefaults.ListPageSize}");
        return new GoogleDriveOptions
        {
            Name = remote.Name,
            ApiUrl = Url(remote, "api_url", GoogleDriveDefaults.ApiUrl, where),
            UploadUrl = Url(remote, "upload_url", GoogleDriveDefaults.UploadUrl, where),
            RootFolderId = NonEmpty(remote.Get("root_folder_id")) ?? shared ?? GoogleDriveDefaults.RootFolderId,
            SharedDriveId = shared,
            ListPageSize = pageSize,
            ExportFormats = DriveExport.ParseFormats(remote.Get("export_formats") ?? DriveExport.DefaultFormats, where),
        };
    }

    private static Uri Url(RemoteDefinition remote, string key, string fallback, string where)
    {
        var text = NonEmpty(remote.Get(key)) ?? fallback;
        if (!Uri.TryCreate(text.TrimEnd('/'), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: {key} '{Location.Redact(text)}' is not an http(s) URL");
        return uri;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
