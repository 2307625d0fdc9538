using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LoadPipe.Server.Jobs;

/// <summary>
/// The dashboard: three static files (wwwroot/dashboard, embedded in the assembly so that the one native lp carries
/// them), no build step. `/` serves the page; its script reads the jobs API and its event stream. The page holds no
/// data and no secret, so it is served without a token; the API it calls is behind the server's auth.
/// </summary>
public static class Dashboard
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        ["/"] = ("dashboard/index.html", "text/html; charset=utf-8"),
        ["/dashboard/app.js"] = ("dashboard/app.js", "text/javascript; charset=utf-8"),
        ["/dashboard/style.css"] = ("dashboard/style.css", "text/css; charset=utf-8"),
    };

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        foreach (var (path, (resource, contentType)) in Files)
        {
            endpoints.MapGet(path, async context =>
            {
                await using var stream = typeof(Dashboard).Assembly.GetManifestResourceStream(resource)
                    ?? throw new InvalidOperationException($"the dashboard file {resource} is missing from the build");
                context.Response.ContentType = contentType;
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers["X-Content-Type-Options"] = "nosniff";
                await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            });
        }
        return endpoints;
    }
}
