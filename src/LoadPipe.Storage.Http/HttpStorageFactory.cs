using System.Globalization;
using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Http;

/// <summary>
/// `type: http` remotes: `url` (required) is the base that paths are relative to; `timeout` (default 60s) is the
/// longest wait for response headers and for each read of a body, as seconds ("30", "30s"), minutes ("2m") or
/// milliseconds ("500ms"); 0 waits forever.
/// </summary>
public sealed class HttpStorageFactory : IStorageFactory
{
    private readonly Lazy<HttpClient> _client = new(CreateClient);

    public string Type => "http";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string> { "url", "timeout" };

    public IStorage Create(RemoteDefinition remote)
    {
        var url = remote.Require("url");
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || !uri.Scheme.StartsWith("http", StringComparison.Ordinal))
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote.Name}': url '{Location.Redact(url)}' is not an http(s) URL");
        var timeout = remote.Get("timeout") is { } text
            ? RemoteDefinition.ParseTimeout(text) ?? throw new LoadPipeException(ErrorKind.Usage,
                $"remote '{remote.Name}': timeout '{text}' is not a duration (examples: 30s, 2m, 500ms; 0 for none)")
            : (TimeSpan?)null;
        return new HttpStorage(uri, _client.Value, timeout);
    }


    /// <summary>Redirects followed for one request; a chain longer than this is a loop, as a rule.</summary>
    internal const int MaxRedirects = 10;

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = MaxRedirects,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        // Large body reads wake up once per batch of bytes, not per segment (SO_RCVLOWAT: Linux).
        if (OperatingSystem.IsLinux())
            handler.ConnectCallback = (context, cancellationToken) => BatchedReceiveStream.ConnectAsync(context.DnsEndPoint, cancellationToken);
        // Timeouts are per request and per read (HttpStorage.Timeout): a whole download may take hours.
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("LoadPipe/0.1");
        return client;
    }
}
