using LoadPipe.Core.Errors;
using LoadPipe.Core.Uploads;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Problems;

/// <summary>
/// Every failure becomes a status and a problem body: the push entry's errors as the tus protocol answers them
/// (404, 409, 413, 460), a full disk as 507, anything unexpected as 500 with its message logged and no stack trace
/// sent. Responses other parts leave empty (401, 403, 404 of routing, 405, 429) get a problem body too.
/// </summary>
public static class ErrorResponses
{
    public static IApplicationBuilder UseProblemResponses(this IApplicationBuilder app, ILogger logger)
    {
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            return http.Response.ContentLength is > 0 || http.Response.ContentType is not null
                ? Task.CompletedTask
                : Problem.WriteAsync(http, http.Response.StatusCode);
        });
        return app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception e) when (!context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
            {
                var (status, detail) = Classify(e, context);
                var method = context.Request.Method;
                var path = context.Request.Path.Value ?? "";
                if (status == 0)
                {
                    Log.ClientGone(logger, method, path, e.Message);
                    return;
                }
                if (status >= 500) Log.RequestFailed(logger, method, path, e.Message, e);
                else Log.RequestRefused(logger, method, path, detail ?? e.Message);
                if (e is UploadConflictException conflict)
                    context.Response.Headers["Upload-Offset"] = conflict.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Problem.WriteAsync(context, status, detail).ConfigureAwait(false);
            }
        });
    }

    /// <summary>The status and detail for <paramref name="e"/>; status 0 when the client is gone and nobody is listening.</summary>
    internal static (int Status, string? Detail) Classify(Exception e, HttpContext context) => e switch
    {
        _ when context.RequestAborted.IsCancellationRequested => (0, null),
        ConnectionResetException or OperationCanceledException => (0, null),
        // Kestrel's own refusals: a body above the limit (413), a body too slow (408), a body cut short (400).
        BadHttpRequestException bad => (bad.StatusCode, bad.Message),
        UploadNotFoundException => (404, e.Message),
        UploadConflictException => (409, e.Message),
        UploadTooLargeException => (413, e.Message),
        UploadChecksumException => (460, e.Message),
        // A store's, or the manifest's (SQLite's SQLITE_FULL, PostgreSQL's disk_full) when it cannot record.
        _ when DiskFull.Is(e) => (507, "the destination is full; bytes already acknowledged are kept"),
        LoadPipeException { Kind: ErrorKind.Busy } => (423, "another request is appending to this upload"),
        LoadPipeException { Kind: ErrorKind.Usage or ErrorKind.Permanent } => (400, e.Message),
        LoadPipeException { Kind: ErrorKind.NotFound } => (404, e.Message),
        LoadPipeException { Kind: ErrorKind.Transient } => (503, e.Message),
        IOException => (0, null),
        _ => (500, "the server failed; see its log"),
    };
}
