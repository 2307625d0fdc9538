using System.Text.Json;
using LoadPipe.Core.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest;

/// <summary>
/// Every error under /api/ becomes `{"error": CODE, "message": MESSAGE}` with a status that fits: the endpoints'
/// refusals (<see cref="IngestException"/>), the push entry's and the stores' failures, and the bodiless answers of
/// other parts (auth's 401 and 403, routing's 404 and 405). Never a stack trace.
/// </summary>
public static class IngestErrorResponses
{
    public const string ApiPrefix = "/api";

    public static IApplicationBuilder UseIngestErrors(this IApplicationBuilder app, ILogger logger) => app.Use(async (context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments(ApiPrefix, StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, code, message) = Classify(e, context);
            if (status == 0)
            {
                Log.ClientGone(logger, context.Request.Method, context.Request.Path.Value ?? "", e.Message);
                return;
            }
            if (status >= 500) Log.RequestFailed(logger, context.Request.Method, context.Request.Path.Value ?? "", e.Message, e);
            else Log.RequestRefused(logger, context.Request.Method, context.Request.Path.Value ?? "", $"{code}: {message}");
            await WriteAsync(context, status, code, message).ConfigureAwait(false);
            return;
        }
        var response = context.Response;
        if (response.StatusCode >= 400 && !response.HasStarted && response.ContentType is null && response.ContentLength is null or 0)
            await WriteAsync(context, response.StatusCode, IngestErrors.ForStatus(response.StatusCode), StatusMessage(response.StatusCode)).ConfigureAwait(false);
    });

    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (HttpMethods.IsHead(context.Request.Method)) return Task.CompletedTask;
        response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(response.Body, new ErrorBody(code, message), IngestJson.Default.ErrorBody, CancellationToken.None);
    }

    internal static (int Status, string Code, string Message) Classify(Exception e, HttpContext context) => e switch
    {
        IngestException refusal => (refusal.Status, refusal.Code, refusal.Message),
        Sagas.SagaFailedException { InnerException: IngestException refusal } => (refusal.Status, refusal.Code, refusal.Message),
        // A full disk, at the element or under the manifest (SQLITE_FULL, PostgreSQL's disk_full), even inside a saga.
        _ when Problems.DiskFull.Is(e) => (507, IngestErrors.StorageError, "the storage element or the server's manifest is full: nothing was stored"),
        Sagas.SagaFailedException saga => (saga.InnerException is Sagas.SagaTimeoutException ? 504 : 502, SagaCode(saga), SagaMessage(saga)),
        _ when context.RequestAborted.IsCancellationRequested => (0, "", ""),
        ConnectionResetException or OperationCanceledException => (0, "", ""),
        // Kestrel's own: a body past the request's size limit (413), too slow (408), cut short (400).
        BadHttpRequestException { StatusCode: 413 } => (413, IngestErrors.FileTooLarge, "the request body is larger than the limit"),
        BadHttpRequestException bad => (bad.StatusCode, IngestErrors.InvalidRequest, bad.Message),
        LoadPipeException { Kind: ErrorKind.NotFound } => (404, IngestErrors.NotFound, e.Message),
        LoadPipeException { Kind: ErrorKind.Transient or ErrorKind.Busy } => (503, IngestErrors.StorageError, e.Message),
        LoadPipeException => (502, IngestErrors.StorageError, e.Message),
        // The client is still there (not aborted): the body ended before the form did, e.g. a Content-Length shorter than the form.
        IOException => (400, IngestErrors.InvalidRequest, "the request body ended before the multipart form did"),
        _ => (500, IngestErrors.InternalError, "the server failed; see its log"),
    };

    /// <summary>The code of a saga that failed: `saga_timeout` past its time, `storage_error` with sagas off (the steps'
    /// own failure), else `saga_failed`.</summary>
    internal static string SagaCode(Sagas.SagaFailedException saga) =>
        saga.InnerException is Sagas.SagaTimeoutException ? IngestErrors.SagaTimeout
        : saga.Bookkept ? IngestErrors.SagaFailed
        : IngestErrors.StorageError;

    internal static string SagaMessage(Sagas.SagaFailedException saga) => saga.Compensated
        ? $"{saga.Message}; every step done before it was undone"
        : $"{saga.Message}; undoing the steps before it failed too (see the server's log)";

    private static string StatusMessage(int status) => status switch
    {
        401 => "a valid bearer token is required",
        403 => "the token lacks the scope this action needs",
        404 => "no such resource",
        405 => "the method is not allowed here",
        _ => Problems.Problem.Title(status),
    };
}
