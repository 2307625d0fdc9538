using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Google;
using LoadPipe.Google.Accounts;
using LoadPipe.Google.Http;
using LoadPipe.Google.Upload;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// `type: youtube` remotes: a sink, located as NAME: (each file becomes a video titled from --meta or after the file).
/// Settings, all optional: the credentials (`client_id` + `client_secret` after `lp auth login NAME`, or
/// `service_account_file`), the endpoints `api_url`, `upload_url`, `token_url`, `auth_url` (default Google's), and the
/// quota: `quota_mode` (units or uploads, default units), `quota_per_upload` (default 1600), `daily_quota` (default
/// 10000), `daily_uploads` (default 6), `quota_account` (default the client_id, else the remote's name). See
/// docs/adapters/youtube.md.
/// </summary>
/// <param name="manifest">The run's manifest, opened on first use: the quota spent per day, the upload history and the
/// channel a remote signs in to live there.</param>
public sealed class YouTubeStorageFactory(GoogleServices google, Func<CancellationToken, Task<IManifest>> manifest, ILoggerFactory? loggers = null) : IStorageFactory
{
    private readonly GoogleAccountIds _accounts = new(google, manifest);

    public string Type => "youtube";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string>
    {
        "client_id", "client_secret", "service_account_file", "api_url", "upload_url", "token_url", "auth_url",
        "quota_mode", "quota_per_upload", "daily_quota", "daily_uploads", "quota_account",
    };

    /// <summary>
    /// "youtube://CHANNEL_ID/", with the API's address when it is not Google's ("youtube+http://127.0.0.1:8080/CHANNEL_ID/"):
    /// the channel the credentials sign in to (channels.list mine=true), asked once per credentials and kept in the
    /// manifest's adapter state (<see cref="GoogleAccountIds"/>). Two configs publishing to one channel share their records.
    /// </summary>
    public async ValueTask<string?> KeyRootAsync(RemoteDefinition remote, CancellationToken cancellationToken = default)
    {
        var options = YouTubeOptions.From(remote);
        var channel = await _accounts.GetAsync(remote, YouTubeDefaults.Scopes, options.ApiUrl, async (api, ct) =>
        {
            var what = $"youtube '{remote.Name}': which channel (channels.list mine)";
            using var response = await api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(options.ApiUrl, "channels?part=id&mine=true")),
                what, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            var list = YouTubeStorage.ParseJson(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false), YouTubeJson.Default.ChannelListResponse, what);
            return list.Items is [{ Id: { Length: > 0 } id }] ? id
                : throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Auth, $"{what}: these credentials have no YouTube channel");
        }, cancellationToken).ConfigureAwait(false);
        var api = options.ApiUrl.AbsoluteUri == new Uri(YouTubeDefaults.ApiUrl.TrimEnd('/') + "/").AbsoluteUri
            ? "youtube://"
            : "youtube+" + options.ApiUrl.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + "/";
        return api + channel + "/";
    }

    public IStorage Create(RemoteDefinition remote) =>
        Create(YouTubeOptions.From(remote), google.TokenSourceFor(remote, YouTubeDefaults.Scopes));

    /// <summary>A sink with these options and tokens; <paramref name="time"/> decides the quota day (tests pass a fake clock).</summary>
    public YouTubeStorage Create(YouTubeOptions options, IAccessTokenSource tokens, TimeProvider? time = null) =>
        new(options, new ResumableUploadClient(new GoogleApiClient(google.Http, tokens)), manifest, time ?? TimeProvider.System,
            loggers?.CreateLogger<YouTubeStorage>() ?? NullLogger<YouTubeStorage>.Instance);
}
