using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Google;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.YouTube;

/// <summary>`type: youtube` remotes: a sink, located as NAME: (the video's title from --meta or the file name).</summary>
/// <param name="manifest">The run's manifest, opened on first use: the quota spent per day and the upload history live there.</param>
public sealed class YouTubeStorageFactory(GoogleServices google, Func<CancellationToken, Task<IManifest>> manifest, ILoggerFactory? loggers = null) : IStorageFactory
{
    private readonly GoogleServices _google = google;
    private readonly Func<CancellationToken, Task<IManifest>> _manifest = manifest;
    private readonly ILoggerFactory? _loggers = loggers;

    public string Type => "youtube";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string>
    {
        "client_id", "client_secret", "service_account_file", "api_url", "upload_url", "token_url", "auth_url", "quota_per_upload", "daily_quota",
    };

    public IStorage Create(RemoteDefinition remote) =>
        throw new LoadPipeException(ErrorKind.Usage,
            $"remote '{remote.Name}': the youtube adapter is not available yet ({_google.GetType().Name}, {_manifest.GetType().Name}, {_loggers is not null})");
}
