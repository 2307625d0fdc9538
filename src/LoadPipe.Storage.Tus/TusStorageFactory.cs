using System.Globalization;
using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Resilience;
using LoadPipe.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// `type: tus` remotes, and <c>tus+http://</c> / <c>tus+https://</c> URLs without a remote (the URL up to its last '/'
/// is the endpoint, the rest the file's name). Settings: `url` (required: the creation endpoint, http(s), with or
/// without the "tus+" prefix), `bearer_token` (sent as <c>Authorization: Bearer</c> to the endpoint's origin),
/// `timeout` (the longest silence of a request, as "30s", "2m", "500ms" or seconds; default 60s; 0 waits forever),
/// `headers` (a map of extra request headers, e.g. a custom auth header: sent to the endpoint's origin, never shown).
/// See docs/adapters/tus.md.
/// </summary>
/// <param name="manifest">The run's manifest, opened on first use: finished uploads are recorded there by path, so that a
/// later run finds them (tus cannot look an upload up by name). Without it nothing is recorded.</param>
public sealed class TusStorageFactory(ILoggerFactory? loggers = null, Func<CancellationToken, Task<IManifest>>? manifest = null) : IStorageFactory
{
    private readonly Lazy<HttpClient> _client = new(CreateClient);

    public string Type => "tus";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string> { "url", "bearer_token", "timeout", "headers.*" };

    public IReadOnlyCollection<string> UrlSchemes { get; } = ["tus+http", "tus+https"];

    public IStorage Create(RemoteDefinition remote) => Create(ReadOptions(remote));

    public TusStorage Create(TusStorageOptions options) =>
        new(options, _client.Value,
            RetryPolicy.Create(TusDefaults.Retries, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeProvider.System),
            loggers?.CreateLogger<TusStorage>() ?? NullLogger<TusStorage>.Instance,
            manifest is null ? null : new TusFinishedUploads(manifest, Location.Redact(options.Endpoint.AbsoluteUri)));

    private static TusStorageOptions ReadOptions(RemoteDefinition remote)
    {
        var where = $"{(remote.Origin.Length > 0 ? remote.Origin + ": " : "")}remote '{remote.Name}' (type tus)";
        var text = remote.Require("url").Trim();
        if (text.StartsWith("tus+", StringComparison.OrdinalIgnoreCase)) text = text[4..];
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Host.Length == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: url '{Location.Redact(text)}' is not an http(s) URL");
        if (url.UserInfo.Length > 0)
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: put the credential in bearer_token, not in the url");
        if (!url.AbsolutePath.EndsWith('/')) url = new Uri(url.GetLeftPart(UriPartial.Path) + "/" + url.Query);
        var timeout = remote.Get("timeout") is { } t
            ? RemoteDefinition.ParseTimeout(t) ?? throw new LoadPipeException(ErrorKind.Usage, $"{where}: timeout '{t}' is not a duration (examples: 30s, 2m, 500ms; 0 for none)")
            : TusDefaults.Timeout;
        var bearer = string.IsNullOrWhiteSpace(remote.Get("bearer_token")) ? null : remote.Get("bearer_token")!.Trim();
        return new TusStorageOptions
        {
            Name = remote.Name,
            Endpoint = url,
            BearerToken = bearer,
            Timeout = timeout,
            Headers = ReadHeaders(remote, where, bearer is not null),
        };
    }

    /// <summary>`headers:`, a map the config reader gives as "headers.NAME" settings. A name must be an HTTP token and not
    /// one tus sets itself; a value is one line. Errors name the header, never its value.</summary>
    private static Dictionary<string, string> ReadHeaders(RemoteDefinition remote, string where, bool hasBearer)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in remote.Settings)
        {
            if (!key.StartsWith(HeadersPrefix, StringComparison.Ordinal)) continue;
            var name = key[HeadersPrefix.Length..];
            if (name.Length == 0 || !name.All(c => c < 127 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c))))
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: headers: '{name}' is not a header name");
            if (Reserved.Contains(name) || (hasBearer && name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)))
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: headers: {name} is set by the tus client itself{(hasBearer ? " (or by bearer_token)" : "")}");
            if (value.Any(c => c is '\r' or '\n' or '\0'))
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: headers: the value of {name} holds a line break");
            headers[name] = value;
        }
        return headers;
    }

    private const string HeadersPrefix = "headers.";

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Defer-Length", "Upload-Metadata", "Upload-Checksum", "Upload-Concat",
        "Content-Type", "Content-Length", "Transfer-Encoding", "Host", "X-HTTP-Method-Override",
    };


    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            // An upload URL is used as given: a redirect could carry the bearer token to another host.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        // Timeouts are per request and per piece of a body (TusProtocol): a whole upload may take hours.
        var client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("LoadPipe/0.1");
        return client;
    }
}
