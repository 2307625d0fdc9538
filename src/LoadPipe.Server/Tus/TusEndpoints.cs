// tus 1.0.0 (https://tus.io/protocols/resumable-upload) is written here by hand: no tus server library for .NET is
// available to this project. Each handler quotes the section of protocol.md it implements.
using LoadPipe.Server.Metrics;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

public static class TusEndpoints
{
    /// <summary>The upload creation URL; an upload's URL is this and its id.</summary>
    public const string Prefix = "/files/";

    /// <summary>
    /// The protocol's rules that hold for every request to /files/, before routing:
    /// X-HTTP-Method-Override: "The X-HTTP-Method-Override request header MUST be a string which MUST be interpreted as
    /// the request's method by the Server, if the header is presented. The actual method of the request MUST be ignored."
    /// Tus-Resumable: "The Tus-Resumable header MUST be included in every request and response except for OPTIONS
    /// requests ... If the Client's version is not supported by the Server, it MUST respond with the 412 Precondition
    /// Failed status and MUST include the Tus-Version header into the response. In addition, the Server MUST NOT process
    /// the request."
    /// </summary>
    public static IApplicationBuilder UseTusProtocol(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments(Prefix.TrimEnd('/'), StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        if (context.Request.Headers.TryGetValue(TusHeaders.MethodOverride, out var method) && method.ToString() is { Length: > 0 } overridden)
            context.Request.Method = overridden.ToUpperInvariant();
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        context.Response.Headers[TusHeaders.Resumable] = TusHeaders.Version;
        if (context.Request.Headers[TusHeaders.Resumable].ToString() != TusHeaders.Version)
        {
            context.Response.Headers[TusHeaders.TusVersion] = TusHeaders.Version;
            await Problem.WriteAsync(context, StatusCodes.Status412PreconditionFailed, $"Tus-Resumable must be {TusHeaders.Version}").ConfigureAwait(false);
            return;
        }
        await next(context).ConfigureAwait(false);
    });

    /// <summary>The tus endpoints at /files/; <paramref name="protect"/> puts the auth policy on all but OPTIONS.</summary>
    public static IEndpointRouteBuilder MapTus(this IEndpointRouteBuilder endpoints, TusStore store, ServerMetrics metrics, ILogger logger,
        Action<IEndpointConventionBuilder> protect)
    {
        endpoints.MapMethods(Prefix, ["OPTIONS"], c => TusOptionsHandler.HandleAsync(c, store));
        endpoints.MapMethods(Prefix + "{id}", ["OPTIONS"], c => TusOptionsHandler.HandleAsync(c, store));
        protect(endpoints.MapMethods(Prefix, ["POST"], c => TusCreateHandler.HandleAsync(c, store, metrics, logger)));
        protect(endpoints.MapMethods(Prefix + "{id}", ["HEAD"], c => TusHeadHandler.HandleAsync(c, store, metrics, logger)));
        protect(endpoints.MapMethods(Prefix + "{id}", ["PATCH"], c => TusPatchHandler.HandleAsync(c, store, metrics, logger)));
        protect(endpoints.MapMethods(Prefix + "{id}", ["DELETE"], c => TusDeleteHandler.HandleAsync(c, store)));
        return endpoints;
    }
}
