// Hand-written: there is no tus client library for .NET here. This follows the tus resumable upload protocol 1.0.0
// (https://tus.io/protocols/resumable-upload, protocol.md in github.com/tus/tus-resumable-upload-protocol); each
// request names the section of that text it implements, and quotes it where the code depends on one sentence.
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// The requests of the tus protocol against one creation endpoint: OPTIONS (discovery), POST (Creation), HEAD,
/// PATCH and DELETE (Termination). Every request but OPTIONS carries <c>Tus-Resumable: 1.0.0</c> ("Tus-Resumable":
/// "MUST be included in every request and response except for OPTIONS requests"). The bearer token and the extra
/// headers, when there are some, go only to the endpoint's own origin: an upload URL on another host (a server may answer with any
/// Location) never sees it. No message holds an upload URL or the token: an upload URL is, on many servers, the one
/// credential of its upload.
/// </summary>
internal sealed class TusProtocol
{
    public const string Version = "1.0.0";
    public const string OffsetOctetStream = "application/offset+octet-stream";

    private readonly HttpClient _http;
    private readonly string? _bearerToken;
    private readonly IReadOnlyDictionary<string, string> _headers;

    /// <param name="endpoint">The creation URL ("Creation": "a known upload creation URL"), ending with '/'.</param>
    /// <param name="timeout">Longest silence: before an answer's headers, and between two pieces of a body sent.</param>
    /// <param name="headers">Extra headers for the endpoint's origin, as the bearer token goes.</param>
    public TusProtocol(HttpClient http, Uri endpoint, string? bearerToken, TimeSpan timeout, IReadOnlyDictionary<string, string>? headers = null)
    {
        _http = http;
        Endpoint = endpoint;
        _bearerToken = bearerToken;
        _headers = headers ?? new Dictionary<string, string>();
        Timeout = timeout;
    }

    public Uri Endpoint { get; }

    public TimeSpan Timeout { get; }

    /// <summary>"OPTIONS": <c>Tus-Version</c>, and where offered <c>Tus-Extension</c>, <c>Tus-Max-Size</c> and
    /// <c>Tus-Checksum-Algorithm</c>. "The Client SHOULD NOT include the Tus-Resumable header in the request." A server
    /// (or a proxy in front of it) that does not answer OPTIONS is taken to offer the core protocol and creation alone.</summary>
    public async Task<TusServerInfo> DiscoverAsync(string what, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Options, Endpoint), null, $"{what}: OPTIONS",
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented or HttpStatusCode.NotFound)
            return TusServerInfo.Unknown;
        if (!response.IsSuccessStatusCode) throw TusErrors.FromResponse(response, $"{what}: OPTIONS");
        var info = new TusServerInfo(
            List(response, "Tus-Version"),
            List(response, "Tus-Extension").ToHashSet(StringComparer.Ordinal),
            Number(response, "Tus-Max-Size"),
            List(response, "Tus-Checksum-Algorithm"));
        if (info.Versions.Count > 0 && !info.Versions.Contains(Version))
            throw new LoadPipeException(ErrorKind.Permanent,
                $"{what}: the server speaks tus {string.Join(", ", info.Versions)}, not {Version}");
        return info;
    }

    /// <summary>
    /// "Creation", POST: <c>Upload-Length</c>, or <c>Upload-Defer-Length: 1</c> when <paramref name="length"/> is -1
    /// ("creation-defer-length"), and <c>Upload-Metadata</c>. "The Server MUST acknowledge a successful upload creation
    /// with the 201 Created status. The Server MUST set the Location header to the URL of the created resource. This URL
    /// MAY be absolute or relative." With <paramref name="body"/> (Creation With Upload): "The Client MUST include the
    /// Content-Type: application/offset+octet-stream header. The Server SHOULD accept as many bytes as possible and MUST
    /// include the Upload-Offset header in the response"; the body carries <c>Upload-Checksum</c> as a PATCH does. The
    /// answer's offset is what the server took of the body (0 without one).
    /// </summary>
    public async Task<(Uri Upload, long Offset)> CreateAsync(long length, string? metadata, ReadOnlyMemory<byte> body, string? checksum, string what,
        CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() =>
        {
            HttpContent content;
            if (body.IsEmpty) content = new ByteArrayContent([]);
            else
            {
                content = new PatchContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue(OffsetOctetStream);
            }
            var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = content };
            if (length >= 0) request.Headers.TryAddWithoutValidation("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
            else request.Headers.TryAddWithoutValidation("Upload-Defer-Length", "1");
            if (metadata is { Length: > 0 }) request.Headers.TryAddWithoutValidation("Upload-Metadata", metadata);
            if (!body.IsEmpty && checksum is not null) request.Headers.TryAddWithoutValidation("Upload-Checksum", checksum);
            return request;
        }, Version, $"{what}: POST", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created) throw TusErrors.FromResponse(response, $"{what}: POST (creation)");
        var location = response.Headers.Location
            ?? throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server created no upload (201 without Location)");
        var offset = body.IsEmpty ? 0 : Number(response, "Upload-Offset")
            ?? throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server answered a creation with upload without Upload-Offset");
        if (offset > body.Length)
            throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server answered a creation with {body.Length} bytes with the offset {offset}");
        return (location.IsAbsoluteUri ? location : new Uri(Endpoint, location), offset);
    }

    /// <summary>
    /// "HEAD": "The Server MUST always include the Upload-Offset header in the response for a HEAD request"; with
    /// <c>Upload-Length</c> "if the size of the upload is known", else <c>Upload-Defer-Length: 1</c>. Null when the
    /// upload is gone: "If the resource is not found, the Server SHOULD return either the 404 Not Found, 410 Gone or 403
    /// Forbidden status". A 403 is taken as a refusal (an expired token), not as gone: a resume then fails and keeps its
    /// state, rather than drop an upload that may still be there.
    /// </summary>
    public async Task<TusUploadStatus?> HeadAsync(Uri upload, string what, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, upload), Version, $"{what}: HEAD",
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return null;
        if (!response.IsSuccessStatusCode) throw TusErrors.FromResponse(response, $"{what}: HEAD");
        var offset = Number(response, "Upload-Offset")
            ?? throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server answered HEAD without Upload-Offset");
        return new TusUploadStatus(offset, Number(response, "Upload-Length") ?? -1, Expires(response));
    }

    /// <summary>
    /// "PATCH": <paramref name="data"/> as the bytes at <paramref name="offset"/>, with
    /// <c>Content-Type: application/offset+octet-stream</c>; <c>Upload-Length</c> when <paramref name="declareLength"/>
    /// is set ("If the length was deferred using Upload-Defer-Length: 1, the Client MUST set the Upload-Length header
    /// in the next PATCH request, once the length is known"); <c>Upload-Checksum</c> with <paramref name="checksum"/>
    /// ("Checksum": the algorithm's name and the Base64 digest, separated by a space). "The Server MUST acknowledge
    /// successful PATCH requests with the 204 No Content status. It MUST include the Upload-Offset header containing
    /// the new offset", which may be short of the end of what was sent ("The Server SHOULD always attempt to store as
    /// much of the received data as possible"). "If the offsets do not match, the Server MUST respond with the 409
    /// Conflict status without modifying the upload resource."
    /// </summary>
    public async Task<TusPatchResult> PatchAsync(Uri upload, long offset, ReadOnlyMemory<byte> data, long? declareLength, string? checksum,
        string what, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() =>
        {
            var content = new PatchContent(data);
            content.Headers.ContentType = new MediaTypeHeaderValue(OffsetOctetStream);
            var request = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = content };
            request.Headers.TryAddWithoutValidation("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            if (declareLength is { } length) request.Headers.TryAddWithoutValidation("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
            if (checksum is not null) request.Headers.TryAddWithoutValidation("Upload-Checksum", checksum);
            return request;
        }, Version, $"{what}: PATCH", cancellationToken).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.NoContent or HttpStatusCode.OK:
                var stored = Number(response, "Upload-Offset")
                    ?? throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server answered PATCH without Upload-Offset");
                return new TusPatchResult(TusPatchOutcome.Stored, stored);
            case HttpStatusCode.Conflict:
                return new TusPatchResult(TusPatchOutcome.OffsetConflict, -1);
            case HttpStatusCode.NotFound or HttpStatusCode.Gone:
                return new TusPatchResult(TusPatchOutcome.Gone, -1);
            default:
                throw TusErrors.FromResponse(response, $"{what}: PATCH at {offset}");
        }
    }

    /// <summary>"Termination", DELETE: "the Server SHOULD free associated resources and MUST respond with the 204 No
    /// Content status". False when the upload was already gone (404/410).</summary>
    public async Task<bool> DeleteAsync(Uri upload, string what, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, upload) { Content = new ByteArrayContent([]) },
            Version, $"{what}: DELETE", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return false;
        if (!response.IsSuccessStatusCode) throw TusErrors.FromResponse(response, $"{what}: DELETE (termination)");
        return true;
    }

    /// <summary>Sends one request and returns its answer whatever the status; network faults and silences longer than
    /// <see cref="Timeout"/> become transient errors. The request is made by <paramref name="create"/> so that nothing
    /// of it outlives the call.</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, string? tusResumable, string what,
        CancellationToken cancellationToken)
    {
        using var request = create();
        if (tusResumable is not null) request.Headers.TryAddWithoutValidation("Tus-Resumable", tusResumable);
        if (SameOrigin(request.RequestUri!, Endpoint))
        {
            foreach (var (name, value) in _headers) request.Headers.TryAddWithoutValidation(name, value);
            if (_bearerToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _bearerToken);
        }
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        silence.CancelAfter(Timeout);
        if (request.Content is PatchContent patch) patch.Progress = () => silence.CancelAfter(Timeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, silence.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: {TusErrors.OneLine(e.Message)}", e);
        }
        catch (IOException e)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: {TusErrors.OneLine(e.Message)}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: nothing moved for {Timeout.TotalSeconds:0.###} s", e);
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    /// <summary>A comma-separated list header ("Tus-Version", "Tus-Extension"...), its items trimmed.</summary>
    private static List<string> List(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values)
            ? values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList()
            : [];

    /// <summary>A header that "MUST be a non-negative integer"; null when absent.</summary>
    private static long? Number(HttpResponseMessage response, string name)
    {
        if (!response.Headers.NonValidated.TryGetValues(name, out var values)) return null;
        var text = values.ToString().Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new LoadPipeException(ErrorKind.Permanent, $"the server sent {name}: '{TusErrors.OneLine(text)}', not a non-negative integer");
    }

    /// <summary>"Expiration": <c>Upload-Expires</c>, an HTTP date; null when absent or unreadable.</summary>
    private static DateTimeOffset? Expires(HttpResponseMessage response) =>
        response.Headers.NonValidated.TryGetValues("Upload-Expires", out var values)
        && DateTimeOffset.TryParse(values.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at : null;

    /// <summary>A PATCH body sent in pieces, each reported (<see cref="Progress"/>) so that a slow link that keeps
    /// moving is not cut by the silence timeout, while one that stops is.</summary>
    private sealed class PatchContent(ReadOnlyMemory<byte> data) : HttpContent
    {
        private const int Piece = 256 << 10;

        public Action? Progress { get; set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (var at = 0; at < data.Length; at += Piece)
            {
                await stream.WriteAsync(data.Slice(at, Math.Min(Piece, data.Length - at)), cancellationToken).ConfigureAwait(false);
                Progress?.Invoke();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}

/// <summary>What a server said of itself in answer to OPTIONS.</summary>
/// <param name="Versions">Tus-Version, most preferred first; empty when the server did not say.</param>
/// <param name="Extensions">Tus-Extension: "creation", "checksum", "termination"...</param>
/// <param name="MaxSize">Tus-Max-Size: the largest upload it takes, when it has a known limit.</param>
/// <param name="ChecksumAlgorithms">Tus-Checksum-Algorithm: the algorithms of the checksum extension.</param>
internal sealed record TusServerInfo(IReadOnlyList<string> Versions, IReadOnlySet<string> Extensions, long? MaxSize,
    IReadOnlyList<string> ChecksumAlgorithms)
{
    /// <summary>A server that did not answer OPTIONS: the core protocol and creation, nothing else assumed.</summary>
    public static TusServerInfo Unknown { get; } = new([], new HashSet<string> { "creation" }, null, []);

    public bool Offers(string extension) => Extensions.Contains(extension);

    /// <summary>The checksum algorithm to send with each PATCH: the best one offered that .NET computes, or null when
    /// the server offers no checksum extension (then none is sent: a server without it may refuse the header).</summary>
    public string? ChecksumAlgorithm => Offers("checksum")
        ? TusChecksum.Preferred.FirstOrDefault(a => ChecksumAlgorithms.Contains(a, StringComparer.Ordinal)) : null;
}

/// <summary>Where an upload stands, from HEAD.</summary>
/// <param name="Offset">Upload-Offset: the bytes the server holds.</param>
/// <param name="Length">Upload-Length, or -1 while it is deferred.</param>
/// <param name="Expires">Upload-Expires, when the server will drop the unfinished upload.</param>
internal sealed record TusUploadStatus(long Offset, long Length, DateTimeOffset? Expires);

internal enum TusPatchOutcome
{
    /// <summary>204: the server holds the bytes up to <see cref="TusPatchResult.Offset"/>.</summary>
    Stored,
    /// <summary>409: the offset sent is not the upload's; nothing was changed. Ask with HEAD.</summary>
    OffsetConflict,
    /// <summary>404/410: the upload expired or was terminated.</summary>
    Gone,
}

internal readonly record struct TusPatchResult(TusPatchOutcome Outcome, long Offset);
