using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Google;
using LoadPipe.Google.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// `type: gdrive` remotes, located as NAME:folder/file or NAME:id:FILE_ID (NAME:id:FOLDER_ID/file). Settings, all
/// optional: `client_id` + `client_secret` (an installed-app OAuth client, for `lp auth login NAME`) or
/// `service_account_file`; `api_url`, `upload_url`, `token_url`, `auth_url` (default Google's); `root_folder_id`
/// (default "root", My Drive); `shared_drive_id` (list and search a shared drive; it is also the root unless
/// root_folder_id is set); `list_chunk` (files per listing request, 1 to 1000, default 1000); `export_formats` (what
/// Google documents are exported to, in order of preference, default "docx,xlsx,pptx,svg"; empty to skip them).
/// </summary>
public sealed class GoogleDriveStorageFactory(GoogleServices google, ILoggerFactory? loggers = null) : IStorageFactory
{
    private readonly GoogleServices _google = google;
    private readonly ILoggerFactory? _loggers = loggers;

    public string Type => "gdrive";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string>
    {
        "client_id", "client_secret", "service_account_file", "api_url", "upload_url", "token_url", "auth_url", "root_folder_id",
        "shared_drive_id", "list_chunk", "export_formats",
    };

    /// <summary>
    /// "gdrive://FOLDER_ID/" for a remote rooted at a folder or a shared drive (ids are unique across Drive), with the
    /// API's address when it is not Google's ("gdrive+http://127.0.0.1:8080/FOLDER_ID/"). A remote rooted at My Drive
    /// (the default, "root") stays keyed by its name: "root" is each account's own drive, and which account a config
    /// signs in with is not known without asking Google.
    /// </summary>
    public string? KeyRoot(RemoteDefinition remote)
    {
        var options = GoogleDriveOptions.From(remote);
        if (options.RootFolderId == GoogleDriveDefaults.RootFolderId) return null;
        var api = options.ApiUrl.AbsoluteUri == new Uri(GoogleDriveDefaults.ApiUrl).AbsoluteUri
            ? "gdrive://"
            : "gdrive+" + options.ApiUrl.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + "/";
        return api + options.RootFolderId + "/";
    }

    public IStorage Create(RemoteDefinition remote)
    {
        var options = GoogleDriveOptions.From(remote);
        var tokens = _google.TokenSourceFor(remote, [GoogleDriveDefaults.Scope]);
        return new GoogleDriveStorage(options, new GoogleApiClient(_google.Http, tokens), _loggers?.CreateLogger<GoogleDriveStorage>());
    }
}
