using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Google;
using LoadPipe.Google.Accounts;
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
/// <param name="manifest">The run's manifest, opened on first use: which account a remote rooted at My Drive signs in
/// to is kept there (<see cref="KeyRootAsync"/>). Without it each process asks Google once.</param>
public sealed class GoogleDriveStorageFactory(GoogleServices google, ILoggerFactory? loggers = null, Func<CancellationToken, Task<IManifest>>? manifest = null)
    : IStorageFactory
{
    private readonly GoogleServices _google = google;
    private readonly ILoggerFactory? _loggers = loggers;
    private readonly GoogleAccountIds _accounts = new(google, manifest);

    public string Type => "gdrive";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string>
    {
        "client_id", "client_secret", "service_account_file", "api_url", "upload_url", "token_url", "auth_url", "root_folder_id",
        "shared_drive_id", "list_chunk", "export_formats",
    };

    /// <summary>
    /// "gdrive://FOLDER_ID/" for a remote rooted at a folder or a shared drive (ids are unique across Drive), with the
    /// API's address when it is not Google's ("gdrive+http://127.0.0.1:8080/FOLDER_ID/"). Null for a remote rooted at
    /// My Drive (the default, "root"): "root" is each account's own drive, which the settings do not name
    /// (<see cref="KeyRootAsync"/> asks).
    /// </summary>
    public string? KeyRoot(RemoteDefinition remote)
    {
        var options = GoogleDriveOptions.From(remote);
        return options.RootFolderId == GoogleDriveDefaults.RootFolderId ? null : KeyPrefix(options) + options.RootFolderId + "/";
    }

    /// <summary>
    /// As <see cref="KeyRoot"/>; a remote rooted at My Drive is keyed by the id of the account's root folder
    /// (files.get fileId=root), asked once per credentials and kept in the manifest's adapter state
    /// (<see cref="GoogleAccountIds"/>): the same key as a remote whose root_folder_id names that folder.
    /// </summary>
    public async ValueTask<string?> KeyRootAsync(RemoteDefinition remote, CancellationToken cancellationToken = default)
    {
        if (KeyRoot(remote) is { } settled) return settled;
        var options = GoogleDriveOptions.From(remote);
        var rootId = await _accounts.GetAsync(remote, [GoogleDriveDefaults.Scope], options.ApiUrl, async (api, ct) =>
        {
            var what = $"gdrive '{remote.Name}': which My Drive (files.get root)";
            using var response = await api.SendAsync(
                () => new HttpRequestMessage(HttpMethod.Get, new Uri($"{options.ApiUrl}/files/root?fields=id&supportsAllDrives=true")),
                what, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            var root = GoogleDriveStorage.ParseJson(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false), DriveJson.Default.DriveFile, what);
            return root.Id.Length > 0 ? root.Id
                : throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Transient, $"{what}: the answer has no id");
        }, cancellationToken).ConfigureAwait(false);
        return KeyPrefix(options) + rootId + "/";
    }

    private static string KeyPrefix(GoogleDriveOptions options) =>
        options.ApiUrl.AbsoluteUri == new Uri(GoogleDriveDefaults.ApiUrl).AbsoluteUri
            ? "gdrive://"
            : "gdrive+" + options.ApiUrl.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + "/";

    public IStorage Create(RemoteDefinition remote)
    {
        var options = GoogleDriveOptions.From(remote);
        var tokens = _google.TokenSourceFor(remote, [GoogleDriveDefaults.Scope]);
        return new GoogleDriveStorage(options, new GoogleApiClient(_google.Http, tokens), _loggers?.CreateLogger<GoogleDriveStorage>());
    }
}
