using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Http;

/// <summary>`type: http` remotes: `url` (required) is the base that paths are relative to.</summary>
public sealed class HttpStorageFactory : IStorageFactory
{
    private readonly Lazy<HttpClient> _client = new(CreateClient);

    public string Type => "http";

    public IReadOnlySet<string> Settings { get; } = new HashSet<string> { "url" };

    public IStorage Create(RemoteDefinition remote)
    {
        var url = remote.Require("url");
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || !uri.Scheme.StartsWith("http", StringComparison.Ordinal))
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote.Name}': url '{Location.Redact(url)}' is not an http(s) URL");
        return new HttpStorage(uri, _client.Value);
    }

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("LoadPipe/0.1");
        return client;
    }
}
