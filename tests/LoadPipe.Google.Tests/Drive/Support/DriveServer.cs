using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Google;
using LoadPipe.Google.Http;
using LoadPipe.Storage.GoogleDrive;
using LoadPipe.Testing.Google;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Google.Tests.Drive.Support;

/// <summary>
/// The Google protocol server for one test class, and Drive storages pointed at it: each <see cref="Storage"/> is
/// a new object, as a new process would make (nothing cached, no session in memory).
/// </summary>
public sealed class DriveServer : IAsyncLifetime
{
    public const int KiB = 1 << 10;
    public const int MiB = 1 << 20;

    public GoogleProtocolServer Google { get; private set; } = null!;

    public HttpClient Http { get; } = new();

    public async Task InitializeAsync() => Google = await GoogleProtocolServer.StartAsync();

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Google.DisposeAsync();
    }

    /// <summary>A token source holding a token with the Drive scope, refreshed by the fake's token issuer.</summary>
    public CountingTokenSource Tokens(params string[] scopes) =>
        new(Google, scopes.Length == 0 ? [GoogleScopes.Drive] : scopes);

    public GoogleDriveStorage Storage(IAccessTokenSource? tokens = null, ILoggerFactory? log = null, int listPageSize = 1000,
        IReadOnlyList<string>? exportFormats = null, string? sharedDriveId = null) =>
        new(new GoogleDriveOptions
        {
            Name = "drive",
            ApiUrl = Google.DriveApiUri,
            UploadUrl = Google.DriveUploadUri,
            ListPageSize = listPageSize,
            ExportFormats = exportFormats ?? DefaultExportFormats,
            SharedDriveId = sharedDriveId,
            RootFolderId = sharedDriveId ?? GoogleDriveDefaults.RootFolderId,
        }, new GoogleApiClient(Http, tokens ?? Tokens()), log?.CreateLogger<GoogleDriveStorage>());

    private static readonly IReadOnlyList<string> DefaultExportFormats = new GoogleDriveOptions { Name = "defaults" }.ExportFormats;

    public static Location At(Core.Storage.IStorage storage, string path) => new(storage, path, "drive:" + path, path.EndsWith('/'));

    public static byte[] Random(int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));
}

/// <summary>Tokens from the fake's issuer; <see cref="RefreshAsync"/> gets a new one and counts how often it was asked.</summary>
public sealed class CountingTokenSource(GoogleProtocolServer google, string[] scopes) : IAccessTokenSource
{
    private string _token = google.IssueToken(scopes).AccessToken;
    private int _refreshes;

    public int Refreshes => _refreshes;

    public ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_token);

    public ValueTask<string> RefreshAsync(string refused, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _refreshes);
        _token = google.IssueToken(scopes).AccessToken;
        return ValueTask.FromResult(_token);
    }
}
