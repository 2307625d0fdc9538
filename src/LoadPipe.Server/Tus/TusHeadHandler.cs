using System.Globalization;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Metrics;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

/// <summary>
/// tus 1.0.0, Core Protocol, HEAD: "The Server MUST always include the Upload-Offset header in the response for a HEAD
/// request, even if the offset is 0, or the upload is already considered completed. If the size of the upload is known,
/// the Server MUST include the Upload-Length header in the response. If the resource is not found, the Server SHOULD
/// return either the 404 Not Found, 410 Gone or 403 Forbidden status without the Upload-Offset header ... The Server MUST
/// prevent the client and/or proxies from caching the response by adding the Cache-Control: no-store header."
/// Concatenation: "The response to a HEAD request for a final upload SHOULD NOT contain the Upload-Offset header unless
/// the concatenation has been successfully finished ... Response to HEAD request against partial or final upload MUST
/// include the Upload-Concat header and its value as received in the upload creation request."
/// </summary>
internal static class TusHeadHandler
{
    public static async Task HandleAsync(HttpContext context, TusStore store, ServerMetrics metrics, ILogger logger)
    {
        context.Response.Headers.CacheControl = "no-store";
        var uploads = await store.UploadsAsync(context.RequestAborted).ConfigureAwait(false);
        var upload = await store.LiveAsync(uploads, TusRequest.Id(context), context.RequestAborted).ConfigureAwait(false);
        if (upload is null)
        {
            await Problem.WriteAsync(context, StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }
        var final = TusRequest.IsFinal(upload);
        // Every byte is recorded but the completion is not: a completion that failed after the length was declared at
        // the offset (a zero-length upload, a declaration whose completion could not commit), or a server that died
        // between the two. An offset equal to the length tells a client the upload is done, so it is completed now,
        // before that is said: by an empty append, which completes an upload whose offset is its length, and scans it
        // whole before the completion as a last PATCH does (a file clamd refuses is never completed: 422, then 404). A
        // completion that fails again answers its error.
        if (!final && upload.Status == UploadStatus.Open && upload.Length is { } whole && upload.Offset == whole)
        {
            try
            {
                upload = await uploads.AppendAsync(upload.Id, whole, Stream.Null,
                    new AppendOptions { CheckWhole = TusVirusScan.Check(store, upload, logger) }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is VirusFoundException or Ingest.Validation.ClamAvException)
            {
                await TusVirusScan.RefuseAsync(context, uploads, upload, e).ConfigureAwait(false);
                return;
            }
            TusPatchHandler.Completed(store, upload, metrics, logger);
        }
        var headers = context.Response.Headers;
        if (!final || upload.Status == UploadStatus.Completed)
            headers[TusHeaders.UploadOffset] = upload.Offset.ToString(CultureInfo.InvariantCulture);
        if (upload.Length is { } length) headers[TusHeaders.UploadLength] = length.ToString(CultureInfo.InvariantCulture);
        // Creation, POST: "As long as the length of the upload is not known, the Server MUST set Upload-Defer-Length: 1
        // in all responses to HEAD requests."
        else headers[TusHeaders.UploadDeferLength] = "1";
        if (UploadMetadata.Format(upload.Metadata) is { } metadata) headers[TusHeaders.UploadMetadata] = metadata;
        if (TusRequest.Concat(upload) is { } concat) headers[TusHeaders.UploadConcat] = concat;
        TusRequest.WriteExpires(context.Response, upload);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }
}
