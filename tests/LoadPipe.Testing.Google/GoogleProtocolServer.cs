using System.Net;
using LoadPipe.Testing.Google.Drive;
using LoadPipe.Testing.Google.Faults;
using LoadPipe.Testing.Google.OAuth;
using LoadPipe.Testing.Google.Uploads;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Testing.Google;

/// <summary>
/// A local server that speaks Google's published protocols for what LoadPipe uses: OAuth 2.0 (consent page, token
/// endpoint, service-account JWT bearer grant), Drive API v3 (files list/get/create/update/delete, media download
/// with Range, export of Google documents, resumable uploads) and YouTube Data API v3 (videos.insert as a resumable upload, videos.list, channels.list). Kestrel
/// on 127.0.0.1, everything under <see cref="BaseUri"/>; file contents on disk under a temp folder.
/// <code>
/// await using var google = await GoogleProtocolServer.StartAsync();
/// google.AddClient("id", "secret");
/// var token = google.IssueToken(GoogleScopes.Drive);      // or the real flows through TokenUri / AuthUri
/// var folder = google.Drive.CreateFolder(google.RootFolderId, "raw");
/// google.Faults.DropConnectionAfter(300_000);              // the next upload chunk breaks after 300 kB
/// </code>
/// </summary>
public sealed class GoogleProtocolServer : IAsyncDisposable
{
    /// <summary>The client <see cref="IssueToken(string[])"/> issues tokens for; registered from the start.</summary>
    public const string DefaultClientId = "loadpipe-test-client";
    public const string DefaultClientSecret = "loadpipe-test-secret";

    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly bool _ownsDataDirectory;
    private readonly UploadSessions _uploads;
    private readonly DriveApi _driveApi;
    private readonly YouTube.YouTubeApi _youTubeApi;
    private readonly AdminApi _admin;
    private Uri _baseUri = new("http://127.0.0.1/");

    private GoogleProtocolServer(GoogleServerOptions options)
    {
        _ownsDataDirectory = options.DataDirectory is null;
        _dataDirectory = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), "lp-google-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dataDirectory);
        Time = options.TimeProvider;
        Faults = new FaultSwitchboard();
        OAuth = new OAuthAuthority(options.TimeProvider, options.AccessTokenLifetime, () => TokenUri);
        OAuth.AddClient(DefaultClientId, DefaultClientSecret);
        foreach (var (id, secret) in options.Clients)
        {
            OAuth.AddClient(id, secret);
        }
        Drive = new DriveStore(_dataDirectory, options.TimeProvider);
        YouTube = new YouTube.YouTubeStore(options.TimeProvider);
        _uploads = new UploadSessions(Path.Combine(_dataDirectory, "uploads"), options.TimeProvider, options.UploadSessionLifetime, Faults);
        Faults.OnExpireAllTokens = OAuth.ExpireAllTokens;
        Faults.OnExpireUploadSessions = _uploads.ExpireAll;
        _driveApi = new DriveApi(Drive, _uploads, Faults, () => BaseUri);
        _youTubeApi = new YouTube.YouTubeApi(YouTube, _uploads, () => BaseUri);
        _admin = new AdminApi(this);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = _dataDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port);
            kestrel.Limits.MaxRequestBodySize = null;
            // No minimum data rates: on a loaded test machine a slow reader or writer must not be cut off by the
            // fake; connections break only when a test asks for it (Faults).
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.AddServerHeader = false;
        });
        _app = builder.Build();
        _app.Run(DispatchAsync);
    }

    public static async Task<GoogleProtocolServer> StartAsync(GoogleServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new GoogleProtocolServer(options ?? new GoogleServerOptions());
        await server._app.StartAsync(cancellationToken);
        var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server._baseUri = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    /// <summary><c>http://127.0.0.1:PORT/</c> (with the trailing slash).</summary>
    public Uri BaseUri => _baseUri;
    public Uri TokenUri => new(_baseUri, "token");
    public Uri AuthUri => new(_baseUri, "auth");
    /// <summary>The Drive <c>api_url</c>: <c>{base}drive/v3</c> (no trailing slash, like Google's).</summary>
    public Uri DriveApiUri => new(_baseUri, "drive/v3");
    public Uri DriveUploadUri => new(_baseUri, "upload/drive/v3");
    public Uri YouTubeApiUri => new(_baseUri, "youtube/v3");
    public Uri YouTubeUploadUri => new(_baseUri, "upload/youtube/v3");

    public TimeProvider Time { get; }
    public OAuthAuthority OAuth { get; }
    public DriveStore Drive { get; }
    public YouTube.YouTubeStore YouTube { get; }
    public FaultSwitchboard Faults { get; }
    public RequestLog Requests { get; } = new();
    public string DataDirectory => _dataDirectory;
    public string RootFolderId => Drive.RootFolderId;
    /// <summary>The one channel's id (channels.list mine=true).</summary>
    public string ChannelId => global::LoadPipe.Testing.Google.YouTube.YouTubeApi.ChannelId;

    /// <summary>The upload sessions so far (received bytes, total, completed, expired).</summary>
    public IReadOnlyList<UploadSessionInfo> UploadSessions => _uploads.Snapshot();

    public void AddClient(string clientId, string clientSecret) => OAuth.AddClient(clientId, clientSecret);

    /// <summary>A valid access token (and refresh token) for <see cref="DefaultClientId"/> with these scopes, without HTTP.</summary>
    public IssuedToken IssueToken(params string[] scopes) => OAuth.IssueToken(DefaultClientId, scopes);

    /// <summary>See <see cref="OAuthAuthority.CreateServiceAccount"/>: the JSON key file content.</summary>
    public string CreateServiceAccount(string clientEmail, IEnumerable<string>? allowedScopes = null) => OAuth.CreateServiceAccount(clientEmail, allowedScopes);

    public void ExpireAllTokens() => OAuth.ExpireAllTokens();

    public void ExpireUploadSessions() => _uploads.ExpireAll();

    // Shortcuts to the Drive store, for tests.
    public string CreateFolder(string parentId, string name) => Drive.CreateFolder(parentId, name);
    public string PutFile(string parentId, string name, byte[] content) => Drive.PutFile(parentId, name, content);
    public string PutFile(string parentId, string name, Stream content) => Drive.PutFile(parentId, name, content);
    public byte[] GetContent(string id) => Drive.GetContent(id);
    public Stream OpenContent(string id) => Drive.OpenContent(id);
    public DriveFileInfo? FindByPath(string path) => Drive.FindByPath(path);

    // Shortcuts to the YouTube store, for tests.
    public IReadOnlyList<YouTube.YouTubeVideo> Videos => YouTube.Videos;
    public bool DeleteVideo(string id) => YouTube.DeleteVideo(id);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _uploads.DeleteFiles();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // ------------------------------------------------------------------ dispatch
    private async Task DispatchAsync(HttpContext context)
    {
        var request = context.Request;
        var segments = request.Path.Value!.Trim('/').Split('/');
        var kind = Classify(request, segments);
        if (segments[0] == "__admin")
        {
            await _admin.HandleAsync(context, segments);
            return;
        }
        var record = new RequestRecord(kind, request.Method, request.Path.Value!, request.QueryString.Value ?? "",
            NullIfEmpty(request.Headers.ContentRange.ToString()), NullIfEmpty(request.Headers.Range.ToString()))
        {
            BearerToken = request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth["Bearer ".Length..].Trim() : null,
        };
        context.Items[RequestLog.RecordKey] = record;
        Requests.Add(record);
        context.Response.OnStarting(() =>
        {
            record.Status = context.Response.StatusCode;
            return Task.CompletedTask;
        });
        if (await Faults.TryFailAsync(context, new FaultRequest(kind, request.Method, request.Path.Value!, request.Headers.ContentRange.ToString())))
        {
            return;
        }
        try
        {
            await RouteAsync(context, segments, kind);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            // A bug here or a request the fake does not understand: answer as Google does to the unexpected.
            await GoogleErrors.WriteApiErrorAsync(context, 500, "backendError", "Backend Error (" + e.GetType().Name + ": " + e.Message + ")");
        }
    }

    private async Task RouteAsync(HttpContext context, string[] s, RequestKind kind)
    {
        var request = context.Request;
        string method = request.Method;
        string? id = s.Length >= 4 ? Uri.UnescapeDataString(s[3]) : null;
        switch (kind)
        {
            case RequestKind.Auth:
                await OAuth.HandleAuthAsync(context);
                return;
            case RequestKind.Token:
                await OAuth.HandleTokenAsync(context);
                return;
            case RequestKind.UploadChunk or RequestKind.UploadStatus:
                await _uploads.HandleAsync(context, request.Query["upload_id"].ToString());
                return;
        }
        string[] read = GoogleScopes.DriveRead, write = GoogleScopes.DriveWrite;
        switch (kind)
        {
            case RequestKind.DriveAbout when await AuthorizedAsync(context, read):
                await _driveApi.AboutAsync(context);
                break;
            case RequestKind.DriveList when await AuthorizedAsync(context, read):
                await _driveApi.ListAsync(context);
                break;
            case RequestKind.DriveGet or RequestKind.DriveDownload when await AuthorizedAsync(context, read):
                await _driveApi.GetAsync(context, id!);
                break;
            case RequestKind.DriveExport when await AuthorizedAsync(context, read):
                await _driveApi.ExportAsync(context, id!);
                break;
            case RequestKind.DriveCreate when await AuthorizedAsync(context, write):
                await _driveApi.CreateAsync(context);
                break;
            case RequestKind.DriveUpdate when await AuthorizedAsync(context, write):
                if (s[0] == "upload")
                {
                    await _driveApi.StartUploadAsync(context, Uri.UnescapeDataString(s[4]));
                }
                else
                {
                    await _driveApi.UpdateAsync(context, id!);
                }
                break;
            case RequestKind.DriveDelete when await AuthorizedAsync(context, write):
                await _driveApi.DeleteAsync(context, id!);
                break;
            case RequestKind.DriveUploadStart when await AuthorizedAsync(context, write):
                await _driveApi.StartUploadAsync(context, null);
                break;
            case RequestKind.YouTubeUploadStart when await AuthorizedAsync(context, GoogleScopes.YouTubeInsert):
                await _youTubeApi.StartUploadAsync(context);
                break;
            case RequestKind.YouTubeList when await AuthorizedAsync(context, GoogleScopes.YouTubeList):
                await _youTubeApi.ListAsync(context);
                break;
            case RequestKind.YouTubeChannels when await AuthorizedAsync(context, GoogleScopes.YouTubeList):
                await _youTubeApi.ChannelsAsync(context);
                break;
            case RequestKind.Other:
                await GoogleErrors.WriteApiErrorAsync(context, 404, "notFound", $"No such endpoint: {method} {request.Path}");
                break;
        }
    }

    private static RequestKind Classify(HttpRequest request, string[] s)
    {
        string m = request.Method;
        bool get = HttpMethods.IsGet(m), post = HttpMethods.IsPost(m), patch = HttpMethods.IsPatch(m), delete = HttpMethods.IsDelete(m), put = HttpMethods.IsPut(m);
        if (s is ["token"])
        {
            return RequestKind.Token;
        }
        if (s is ["auth"] && get)
        {
            return RequestKind.Auth;
        }
        // Google's upload servers take chunks by PUT (as the Drive guide shows) and also by POST on a session URI.
        if (s[0] == "upload" && request.Query.ContainsKey("upload_id") && (put || post || delete))
        {
            return !delete && request.Headers.ContentRange.ToString().StartsWith("bytes */", StringComparison.Ordinal) ? RequestKind.UploadStatus : RequestKind.UploadChunk;
        }
        return s switch
        {
            ["drive", "v3", "about"] when get => RequestKind.DriveAbout,
            ["drive", "v3", "files"] when get => RequestKind.DriveList,
            ["drive", "v3", "files"] when post => RequestKind.DriveCreate,
            ["drive", "v3", "files", _] when get => request.Query["alt"] == "media" ? RequestKind.DriveDownload : RequestKind.DriveGet,
            ["drive", "v3", "files", _, "export"] when get => RequestKind.DriveExport,
            ["drive", "v3", "files", _] when patch => RequestKind.DriveUpdate,
            ["drive", "v3", "files", _] when delete => RequestKind.DriveDelete,
            ["upload", "drive", "v3", "files"] when post => RequestKind.DriveUploadStart,
            ["upload", "drive", "v3", "files", _] when patch => RequestKind.DriveUpdate,
            ["youtube", "v3", "videos"] when get => RequestKind.YouTubeList,
            ["youtube", "v3", "channels"] when get => RequestKind.YouTubeChannels,
            ["upload", "youtube", "v3", "videos"] when post => RequestKind.YouTubeUploadStart,
            _ => RequestKind.Other,
        };
    }

    /// <summary>Checks the bearer token: 401 authError when missing, unknown or expired; 403 insufficientPermissions without one of <paramref name="accepted"/>.</summary>
    private async Task<bool> AuthorizedAsync(HttpContext context, string[] accepted)
    {
        switch (OAuth.Check(context.Request, out var token))
        {
            case BearerCheck.Missing:
                await GoogleErrors.WriteApiErrorAsync(context, 401, "required", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
                return false;
            case BearerCheck.Unknown or BearerCheck.Expired:
                await GoogleErrors.WriteApiErrorAsync(context, 401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
                return false;
        }
        if (!token!.Scopes.Any(accepted.Contains))
        {
            await GoogleErrors.WriteApiErrorAsync(context, 403, "insufficientPermissions", "Request had insufficient authentication scopes.");
            return false;
        }
        return true;
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
