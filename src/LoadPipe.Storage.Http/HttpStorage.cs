using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Streams;

namespace LoadPipe.Storage.Http;

/// <summary>
/// A read-only HTTP(S) source. Identity: a strong ETag, else Last-Modified, plus Content-Length. Reads resume with
/// Range and If-Range (RFC 9110 §14.2, §13.1.5), so a file that changed between two reads is detected (the server
/// answers 200 with the new content instead of 206) rather than spliced. A server that goes quiet, before the
/// response headers or in the middle of a body, fails the request after <see cref="Timeout"/> as a transient
/// error, so the read is retried from where it stopped instead of waiting forever.
/// </summary>
public sealed class HttpStorage : IStorage, IRangedReader
{
    /// <summary>The default of <see cref="Timeout"/>: 60 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private const string LastModifiedPrefix = "lm:";
    private readonly Uri _base;
    private readonly HttpClient _client;

    /// <param name="timeout">See <see cref="Timeout"/>; null means <see cref="DefaultTimeout"/>.</param>
    public HttpStorage(Uri baseUrl, HttpClient client, TimeSpan? timeout = null)
    {
        _base = baseUrl;
        _client = client;
        Timeout = timeout ?? DefaultTimeout;
    }

    /// <summary>Longest wait for the response headers, and for each read of a body to return any byte.
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> waits forever.</summary>
    public TimeSpan Timeout { get; }

    public string Description => Location.Redact(_base.GetLeftPart(UriPartial.Authority));

    public Uri Resolve(string path) => Uri.TryCreate(path, UriKind.Absolute, out var abs) && abs.Scheme.StartsWith("http", StringComparison.Ordinal)
        ? abs
        : new Uri(_base, path);

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // A plain HTTP server has no listing API: a URL lists as the one object it names.
        var info = await StatAsync(path, cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.NotFound, $"{Location.Redact(Resolve(path).AbsoluteUri)}: not found (404)");
        yield return info with { Path = Name(Resolve(path)) };
    }

    public async Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        var uri = Resolve(path);
        using (var head = await SendAsync(new HttpRequestMessage(HttpMethod.Head, uri), cancellationToken).ConfigureAwait(false))
        {
            if (head.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return null;
            if (head.IsSuccessStatusCode && head.Content.Headers.ContentLength is not null)
                return Describe(path, head, head.Content.Headers.ContentLength.Value);
            if (head.StatusCode is not (HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented) && !head.IsSuccessStatusCode)
                throw HttpErrors.FromResponse(head, uri);
        }
        // No usable HEAD: ask for the first byte; Content-Range tells the total.
        var probe = new HttpRequestMessage(HttpMethod.Get, uri);
        probe.Headers.Range = new RangeHeaderValue(0, 0);
        using var get = await SendAsync(probe, cancellationToken).ConfigureAwait(false);
        if (get.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return null;
        if (!get.IsSuccessStatusCode) throw HttpErrors.FromResponse(get, uri);
        var size = get.StatusCode == HttpStatusCode.PartialContent
            ? get.Content.Headers.ContentRange?.Length ?? -1
            : get.Content.Headers.ContentLength ?? -1;
        return Describe(path, get, size);
    }

    public async Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        var uri = Resolve(path);
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (options.Offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(options.Offset, null);
            if (options.IfVersion is { } version)
            {
                if (version.StartsWith(LastModifiedPrefix, StringComparison.Ordinal))
                    request.Headers.IfRange = new RangeConditionHeaderValue(DateTimeOffset.Parse(version[LastModifiedPrefix.Length..], System.Globalization.CultureInfo.InvariantCulture));
                else
                    request.Headers.IfRange = new RangeConditionHeaderValue(EntityTagHeaderValue.Parse(version));
            }
        }
        var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && options.Offset > 0
                && response.Content.Headers.ContentRange?.Length == options.Offset)
            {
                response.Dispose();
                return Stream.Null;
            }
            if (!response.IsSuccessStatusCode) throw HttpErrors.FromResponse(response, uri);
            var actualVersion = VersionOf(response);
            if (options.IfVersion is { } expected && actualVersion is not null && actualVersion != expected)
                throw new SourceChangedException($"{Location.Redact(uri.AbsoluteUri)} changed (version {expected} -> {actualVersion})");
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            if (options.Offset == 0) return new IdleTimeoutStream(body, response, Timeout, Location.Redact(uri.AbsoluteUri));
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                if (response.Content.Headers.ContentRange?.From != options.Offset)
                    throw new LoadPipeException(ErrorKind.Permanent, $"{Location.Redact(uri.AbsoluteUri)}: the server sent another range than asked ({response.Content.Headers.ContentRange})");
                return new IdleTimeoutStream(body, response, Timeout, Location.Redact(uri.AbsoluteUri));
            }
            // 200 to a ranged request: the server ignores ranges (the version still matched, or If-Range
            // would have told us). Skip what we already have.
            var stream = new IdleTimeoutStream(body, response, Timeout, Location.Redact(uri.AbsoluteUri));
            await SkipAsync(stream, options.Offset, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var headersTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headersTimeout.CancelAfter(Timeout);
        try
        {
            return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headersTimeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{Location.Redact(request.RequestUri!.AbsoluteUri)}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{Location.Redact(request.RequestUri!.AbsoluteUri)}: no response within {Timeout.TotalSeconds:0.###}s", e);
        }
    }

    private static async Task SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
            if (n == 0) throw new SourceChangedException("the source is shorter than before");
            count -= n;
        }
    }

    private static ObjectInfo Describe(string path, HttpResponseMessage response, long size)
    {
        var hashes = new Dictionary<string, string>();
        if (response.Content.Headers.ContentMD5 is { Length: 16 } md5) hashes["md5"] = Convert.ToHexStringLower(md5);
        var version = VersionOf(response);
        return new ObjectInfo
        {
            Path = path,
            Size = size,
            Modified = response.Content.Headers.LastModified,
            Version = version,
            // A date to the second: a file rewritten within it, or given its old date back, keeps it.
            WeakVersion = version is null || version.StartsWith(LastModifiedPrefix, StringComparison.Ordinal),
            Hashes = hashes,
        };
    }

    /// <summary>A strong ETag, else the Last-Modified date; null when the server gives neither.</summary>
    private static string? VersionOf(HttpResponseMessage response)
    {
        if (response.Headers.ETag is { IsWeak: false } etag) return etag.ToString();
        if (response.Content.Headers.LastModified is { } modified) return LastModifiedPrefix + modified.ToString("R");
        return null;
    }

    private static string Name(Uri uri) => Uri.UnescapeDataString(uri.AbsolutePath[(uri.AbsolutePath.LastIndexOf('/') + 1)..]);
}
