using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Server.Tus;

/// <summary>
/// tus 1.0.0, Termination, DELETE: "When receiving a DELETE request for an existing upload the Server SHOULD free
/// associated resources and MUST respond with the 204 No Content status confirming that the upload was terminated. For
/// all future requests to this URL, the Server SHOULD respond with the 404 Not Found or 410 Gone status."
/// A finished upload's object stays at the destination: only the upload's state and bytes in flight go.
/// </summary>
internal static class TusDeleteHandler
{
    public static async Task HandleAsync(HttpContext context, TusStore store)
    {
        var id = TusRequest.Id(context);
        var uploads = await store.UploadsAsync(context.RequestAborted).ConfigureAwait(false);
        var upload = await uploads.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (upload is null || Ingest.Files.UploadSessions.IsSession(upload) || !await uploads.AbortAsync(id, CancellationToken.None).ConfigureAwait(false))
        {
            await Problem.WriteAsync(context, StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }
}
