using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LoadPipe.Core.Errors;
using LoadPipe.Google.Http;

namespace LoadPipe.Google.Upload;

/// <summary>
/// Google's resumable upload protocol, shared by Drive (files.create / files.update) and YouTube (videos.insert):
/// https://developers.google.com/drive/api/guides/manage-uploads#resumable and
/// https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol. Hand-written: Google.Apis'
/// ResumableUpload wants a seekable stream of the whole file, while the engine hands over one chunk at a time and
/// keeps the session URI in its manifest between processes.
/// <list type="number">
/// <item>Initiate: POST (or PATCH, a new revision) the JSON metadata to <c>...?uploadType=resumable</c> with
/// <c>X-Upload-Content-Type</c> and, when known, <c>X-Upload-Content-Length</c>; the session URI is in <c>Location</c>.</item>
/// <item>Chunk: PUT bytes with <c>Content-Range: bytes A-B/TOTAL</c> (<c>/*</c> while the total is unknown); every
/// chunk but the last a multiple of 256 KiB. 308 Resume Incomplete with <c>Range: bytes=0-N</c> (no Range: nothing
/// stored) asks for more; 200/201 with the resource's JSON ends it.</item>
/// <item>Status: an empty PUT with <c>Content-Range: bytes */TOTAL</c> (or <c>*/*</c>) answers the same way.</item>
/// <item>404/410 on a session: it expired or never existed (<see cref="UploadState.SessionGone"/>).</item>
/// </list>
/// The session URI is a credential for that one upload: it is never put in a message.
/// </summary>
public sealed class ResumableUploadClient(GoogleApiClient api)
{
    /// <summary>Every chunk but the last must be a multiple of this (256 KiB).</summary>
    public const int ChunkAlignment = 256 << 10;

    public GoogleApiClient Api { get; } = api;

    /// <summary>Starts a session; returns its URI.</summary>
    /// <param name="method">POST for a new resource, PATCH for a new revision of an existing one.</param>
    /// <param name="initiateUri">The upload endpoint with <c>uploadType=resumable</c> and any other query parameters.</param>
    /// <param name="metadataJson">The resource's metadata (name, parents, snippet...).</param>
    /// <param name="totalLength">The content's length when known, else -1.</param>
    public async Task<Uri> StartAsync(HttpMethod method, Uri initiateUri, string metadataJson, long totalLength, string? contentType,
        string what, CancellationToken cancellationToken = default)
    {
        using var response = await Api.SendAsync(() =>
        {
            var request = new HttpRequestMessage(method, initiateUri)
            {
                Content = new StringContent(metadataJson, Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("X-Upload-Content-Type", contentType ?? "application/octet-stream");
            if (totalLength >= 0)
                request.Headers.TryAddWithoutValidation("X-Upload-Content-Length", totalLength.ToString(CultureInfo.InvariantCulture));
            return request;
        }, what, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var location = response.Headers.Location
            ?? throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server started no upload session (HTTP {(int)response.StatusCode} without Location)");
        return location.IsAbsoluteUri ? location : new Uri(initiateUri, location);
    }

    /// <summary>Sends <paramref name="data"/> as the bytes at <paramref name="offset"/>.</summary>
    /// <param name="total">The content's whole length when known (always on the last chunk), else -1.</param>
    public Task<UploadStatus> PutAsync(Uri session, long offset, ReadOnlyMemory<byte> data, long total, string what,
        CancellationToken cancellationToken = default)
    {
        if (data.IsEmpty) throw new ArgumentException("an empty chunk: use QueryAsync", nameof(data));
        var range = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + data.Length - 1}/{Total(total)}");
        return SendAsync(session, range, data, what, cancellationToken);
    }

    /// <summary>Asks how many bytes the session holds. With the total given, a session holding all of them completes.</summary>
    public Task<UploadStatus> QueryAsync(Uri session, long total, string what, CancellationToken cancellationToken = default) =>
        SendAsync(session, $"bytes */{Total(total)}", ReadOnlyMemory<byte>.Empty, what, cancellationToken);

    /// <summary>Drops an unfinished session (DELETE; Google answers 499). Best effort: an abandoned session expires.</summary>
    public async Task CancelAsync(Uri session, string what, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await Api.SendRawAsync(() => new HttpRequestMessage(HttpMethod.Delete, session), what,
                HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (LoadPipeException)
        {
            // Gone already, or unreachable: it expires by itself.
        }
    }

    private async Task<UploadStatus> SendAsync(Uri session, string contentRange, ReadOnlyMemory<byte> data, string what, CancellationToken cancellationToken)
    {
        using var response = await Api.SendRawAsync(() =>
        {
            var content = new ReadOnlyMemoryContent(data);
            content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
            content.Headers.ContentLength = data.Length;
            return new HttpRequestMessage(HttpMethod.Put, session) { Content = content };
        }, what, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await StatusOfAsync(response, what, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<UploadStatus> StatusOfAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        switch ((int)response.StatusCode)
        {
            case 308:
                return new UploadStatus(UploadState.Incomplete, StoredOf(response.Headers, what));
            case 200 or 201:
                return new UploadStatus(UploadState.Complete, -1, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            case 404 or 410:
                return UploadStatus.Gone;
            default:
                var error = await GoogleErrors.FromResponseAsync(response, what, cancellationToken).ConfigureAwait(false);
                // A 400 about the range is the session disagreeing with us on the offset: not fixed by retrying the
                // same chunk, but the caller's status query finds where it stands.
                throw error;
        }
    }

    /// <summary>The bytes stored, from <c>Range: bytes=0-N</c> (N + 1); no Range header is nothing stored.</summary>
    internal static long StoredOf(HttpResponseHeaders headers, string what)
    {
        if (!headers.NonValidated.TryGetValues("Range", out var values)) return 0;
        var text = values.ToString().Trim();
        const string prefix = "bytes=0-";
        if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
            && long.TryParse(text.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            return last + 1;
        throw new LoadPipeException(ErrorKind.Permanent, $"{what}: the server answered 308 with an unreadable Range '{GoogleErrors.OneLine(text)}'");
    }

    private static string Total(long total) => total >= 0 ? total.ToString(CultureInfo.InvariantCulture) : "*";
}
