using System.Text.Json;
using LoadPipe.Hosting;
using LoadPipe.Server.Problems;
using LoadPipe.Server.Tus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LoadPipe.Server.Health;

/// <summary>
/// /health/live: the process answers. /health/ready: it can take uploads, that is the manifest answers and the
/// destination can be reached. Neither needs a token, so that a load balancer or an orchestrator can probe them.
/// </summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints, LoadPipeHost host, TusStore store)
    {
        endpoints.MapGet("/health/live", context => WriteAsync(context, 200, new HealthBody("live")));
        endpoints.MapGet("/health/ready", async context =>
        {
            var checks = new Dictionary<string, string>(StringComparer.Ordinal);
            var ready = true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                var manifest = await host.ManifestAsync(timeout.Token).ConfigureAwait(false);
                await manifest.GetSessionAsync(0, timeout.Token).ConfigureAwait(false);
                await store.UploadsAsync(timeout.Token).ConfigureAwait(false);
                checks["manifest"] = "ok";
            }
            catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                checks["manifest"] = OneLine(e);
                ready = false;
            }
            try
            {
                // A folder that is not there yet is fine (the first upload creates it); one that cannot be asked is not.
                await store.Destination.Storage.StatAsync(store.Destination.Path, timeout.Token).ConfigureAwait(false);
                checks["destination"] = "ok";
            }
            catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                checks["destination"] = OneLine(e);
                ready = false;
            }
            await WriteAsync(context, ready ? 200 : 503, new HealthBody(ready ? "ready" : "not ready", checks)).ConfigureAwait(false);
        });
        return endpoints;
    }

    private static string OneLine(Exception e) => e.Message.Split('\n')[0];

    private static Task WriteAsync(HttpContext context, int status, HealthBody body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, body, ServerJson.Default.HealthBody, context.RequestAborted);
    }
}
