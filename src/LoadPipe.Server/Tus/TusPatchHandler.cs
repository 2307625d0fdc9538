using System.Globalization;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Validation;
using LoadPipe.Server.Metrics;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

/// <summary>
/// tus 1.0.0, Core Protocol, PATCH: "All PATCH requests MUST use Content-Type: application/offset+octet-stream,
/// otherwise the server SHOULD return a 415 Unsupported Media Type status. The Upload-Offset header's value MUST be equal
/// to the current offset of the resource ... If the offsets do not match, the Server MUST respond with the 409 Conflict
/// status without modifying the upload resource ... The Server MUST acknowledge successful PATCH requests with the 204 No
/// Content status. It MUST include the Upload-Offset header containing the new offset ... The Server SHOULD always
/// attempt to store as much of the received data as possible." The push entry keeps every byte received before a client
/// goes away, made durable, and reports only durable offsets.
/// Checksum: "In the first two cases [400, 460] the uploaded chunk MUST be discarded". Concatenation: "The Server MUST
/// respond with the 403 Forbidden status to PATCH requests against a final upload URL". Creation, POST (defer length):
/// "the Client MUST set the Upload-Length header in the next PATCH request, once the length is known. Once set the length
/// MUST NOT be changed." Expiration: "This header [Upload-Expires] MUST be included in every PATCH response if the upload
/// is going to expire." As tusd does, each append renews the expiry (recorded with the bytes it kept): an upload expires
/// once it has been idle for the configured expiration, not that long after its creation.
/// </summary>
internal static class TusPatchHandler
{
    public static async Task HandleAsync(HttpContext context, TusStore store, ServerMetrics metrics, ILogger logger)
    {
        if (!IsOffsetStream(context.Request))
        {
            await Problem.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, $"PATCH needs Content-Type: {TusHeaders.OffsetOctetStream}").ConfigureAwait(false);
            return;
        }
        var offset = TusRequest.NonNegative(context, TusHeaders.UploadOffset);
        if (offset is null or < 0)
        {
            await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "Upload-Offset must be a non-negative integer").ConfigureAwait(false);
            return;
        }
        var id = TusRequest.Id(context);
        var uploads = await store.UploadsAsync(context.RequestAborted).ConfigureAwait(false);
        var upload = await store.LiveAsync(uploads, id, context.RequestAborted).ConfigureAwait(false);
        if (upload is null)
        {
            await Problem.WriteAsync(context, StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }
        if (TusRequest.IsFinal(upload))
        {
            await Problem.WriteAsync(context, StatusCodes.Status403Forbidden, "a final upload (concatenation) takes no PATCH").ConfigureAwait(false);
            return;
        }
        var declared = TusRequest.NonNegative(context, TusHeaders.UploadLength);
        if (declared is < 0)
        {
            await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "Upload-Length must be a non-negative integer").ConfigureAwait(false);
            return;
        }
        var completing = false;
        if (declared is { } length && upload.Length != length)
        {
            if (upload.Length is not null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "Upload-Length is already set and cannot change").ConfigureAwait(false);
                return;
            }
            if (length > store.Settings.MaxSize)
            {
                await Problem.WriteAsync(context, StatusCodes.Status413RequestEntityTooLarge, $"Upload-Length is above Tus-Max-Size ({store.Settings.MaxSize})").ConfigureAwait(false);
                return;
            }
            if (offset != upload.Offset)
            {
                await WriteConflictAsync(context, upload.Offset).ConfigureAwait(false);
                return;
            }
            // A length at the offset ends the upload with this (empty) PATCH: it is declared by the append's completion,
            // in one record after the whole-file check, not declared first (the push entry would complete the upload
            // there, unchecked).
            if (length != upload.Offset) upload = await uploads.DeclareLengthAsync(id, length, context.RequestAborted).ConfigureAwait(false);
            else if (context.Request.ContentLength is > 0)
            {
                await Problem.WriteAsync(context, StatusCodes.Status413RequestEntityTooLarge, $"the body goes past the declared Upload-Length ({length})").ConfigureAwait(false);
                return;
            }
            else completing = true;
        }
        if (await AppendAsync(context, store, uploads, upload, offset.Value, metrics, logger, completing).ConfigureAwait(false) is not null)
            context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>Appends the request's body at <paramref name="offset"/> and sets Upload-Offset (and Upload-Expires), or
    /// writes the refusal and returns null; shared with creation-with-upload. Nothing is read when the request is refused up front.</summary>
    /// <para><paramref name="complete"/>: the upload's deferred length is the offset after this body (<see cref="AppendOptions.Complete"/>).</para>
    public static async Task<Upload?> AppendAsync(HttpContext context, TusStore store, IUploads uploads, Upload upload, long offset, ServerMetrics metrics, ILogger logger,
        bool complete = false)
    {
        if (offset != upload.Offset)
        {
            await WriteConflictAsync(context, upload.Offset).ConfigureAwait(false);
            return null;
        }
        BodyChecksum? checksum = null;
        if (context.Request.Headers.TryGetValue(TusHeaders.UploadChecksum, out var checksumHeader))
        {
            checksum = ChecksumHeader.Parse(checksumHeader.ToString(), out var error);
            if (checksum is null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
                return null;
            }
        }
        // The most this body may hold: what the declared length leaves, or what Tus-Max-Size leaves while it is deferred.
        var room = (upload.Length ?? store.Settings.MaxSize) - offset;
        if (context.Request.ContentLength is { } bodyLength && bodyLength > room)
        {
            await Problem.WriteAsync(context, StatusCodes.Status413RequestEntityTooLarge,
                $"the body ({bodyLength} bytes) goes past the upload's {(upload.Length is null ? "maximum size" : "length")} ({room} bytes left)").ConfigureAwait(false);
            return null;
        }
        var started = store.Time.GetTimestamp();
        // Not the request's abort token: when the client goes away, the bytes it sent are still kept (the body's read
        // fails, and the push entry makes what it took durable before it rethrows).
        Upload after;
        try
        {
            after = await uploads.AppendAsync(upload.Id, offset, context.Request.Body,
                new AppendOptions
                {
                    MaxLength = complete ? 0 : upload.Length is null ? room : null, Checksum = checksum, Expires = store.Time.GetUtcNow() + store.Settings.Expiration,
                    CheckWhole = TusVirusScan.Check(store, upload, logger), Complete = complete,
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is VirusFoundException or ClamAvException)
        {
            await TusVirusScan.RefuseAsync(context, uploads, upload, e).ConfigureAwait(false);
            return null;
        }
        metrics.Appended(after.Offset - offset, store.Time.GetElapsedTime(started));
        context.Response.Headers[TusHeaders.UploadOffset] = after.Offset.ToString(CultureInfo.InvariantCulture);
        TusRequest.WriteExpires(context.Response, after);
        if (after.Status == UploadStatus.Completed) Completed(store, after, metrics, logger);
        return after;
    }

    public static void Completed(TusStore store, Upload upload, ServerMetrics metrics, ILogger logger)
    {
        metrics.UploadCompleted();
        Log.UploadCompleted(logger, upload.Id, upload.Offset, upload.Sha256);
    }

    private static Task WriteConflictAsync(HttpContext context, long current)
    {
        context.Response.Headers[TusHeaders.UploadOffset] = current.ToString(CultureInfo.InvariantCulture);
        return Problem.WriteAsync(context, StatusCodes.Status409Conflict, $"Upload-Offset does not match the upload's offset ({current})");
    }

    public static bool IsOffsetStream(HttpRequest request) =>
        request.ContentType is { } type && type.Split(';')[0].Trim().Equals(TusHeaders.OffsetOctetStream, StringComparison.OrdinalIgnoreCase);
}
