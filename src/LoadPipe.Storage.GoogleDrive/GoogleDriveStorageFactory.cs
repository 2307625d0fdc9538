using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Google;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>`type: gdrive` remotes, located as NAME:folder/file or NAME:id:FILE_ID.</summary>
public sealed class GoogleDriveStorageFactory(GoogleServices google, ILoggerFactory? loggers = null) : IStorageFactory
{
    private readonly GoogleServices _google = google;
    private readonly ILoggerFactory? _loggers = loggers;

    public string Type => "gdrive";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string>
    {
        "client_id", "client_secret", "service_account_file", "api_url", "upload_url", "token_url", "auth_url", "root_folder_id",
    };

    public IStorage Create(RemoteDefinition remote) =>
        throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote.Name}': the gdrive adapter is not available yet ({_google.GetType().Name}, {_loggers is not null})");
}
