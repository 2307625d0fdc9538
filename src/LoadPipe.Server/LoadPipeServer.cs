using System.Net;
using System.Threading.RateLimiting;
using LoadPipe.Core.Uploads;
using LoadPipe.Hosting;
using LoadPipe.Server.Auth;
using LoadPipe.Server.Health;
using LoadPipe.Server.Jobs;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Metrics;
using LoadPipe.Server.OpenApi;
using LoadPipe.Server.Problems;
using LoadPipe.Server.Transport;
using LoadPipe.Server.Tus;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace LoadPipe.Server;

/// <summary>
/// `lp serve`: Kestrel with the tus endpoints, auth, limits, CORS, health and metrics, on a <see cref="LoadPipeHost"/>
/// made by the front (the CLI) the same way every front makes it. Built with the slim builder and source-generated JSON,
/// so it runs in the native (AOT) lp.
/// </summary>
public sealed class LoadPipeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoadPipeServer(WebApplication app, TusStore store, IngestService ingest)
    {
        _app = app;
        Store = store;
        Ingest = ingest;
    }

    public TusStore Store { get; }

    /// <summary>The route patterns mapped, with their methods (the OpenAPI test compares them with the document).</summary>
    internal IEnumerable<(string Pattern, IReadOnlyList<string> Methods)> Routes =>
        ((IEndpointRouteBuilder)_app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Select(e => (e.RoutePattern.RawText ?? "", e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []));

    /// <summary>The ingest API's parts (docs/ingest.md): its storage elements and file records.</summary>
    public IngestService Ingest { get; }

    /// <summary>The addresses Kestrel listens on once started (a port 0 resolved), e.g. "http://127.0.0.1:41234".</summary>
    public IReadOnlyCollection<string> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>Builds the server. <paramref name="openUploads"/> opens the push entry over the host's manifest.</summary>
    public static LoadPipeServer Create(LoadPipeHost host, ServerSettings settings, Func<CancellationToken, Task<IUploads>> openUploads)
    {
        var destination = host.Resolver.Resolve(settings.Destination);
        var staging = settings.Staging is { } s ? host.Resolver.Resolve(s) : destination.Child(ServerDefaults.StagingFolder);
        var store = new TusStore(openUploads, destination, staging, settings, host.Time);
        var logger = host.Loggers.CreateLogger("LoadPipe.Server");

        // No watch for appsettings.json changes: it watches the working folder and every folder under it, so each file
        // the server writes there (objects, sidecars, the manifest's pages) woke a thread that stat'ed it: ~90 system
        // calls per 1 MiB upload when the elements and the manifest sit under the folder lp serve runs in.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "lp", Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(host.Loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(settings.Listen);
            var limits = kestrel.Limits;
            // A PATCH body is at most a whole upload; tus refuses more than an upload's length itself.
            limits.MaxRequestBodySize = settings.MaxSize;
            limits.MaxRequestHeadersTotalSize = (int)Math.Min(settings.MaxHeaderSize, int.MaxValue);
            limits.MaxRequestLineSize = Math.Min(limits.MaxRequestLineSize, limits.MaxRequestHeadersTotalSize);
            limits.RequestHeadersTimeout = settings.HeaderTimeout;
            // Slowloris: a body that trickles in below this rate (after the grace period) is cut off.
            limits.MinRequestBodyDataRate = new MinDataRate(settings.MinBodyRate, TimeSpan.FromSeconds(10));
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        // Receives in 256 KiB blocks rather than Kestrel's 4 KiB: the largest CPU cost per uploaded byte (Transport/ReceivePool.cs).
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, ReceivePoolFactory>();

        var metrics = new ServerMetrics();
        builder.Services.AddSingleton(metrics);
        var telemetry = builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(ServerMetrics.MeterName, IngestMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddPrometheusExporter());
        // The ingest spans (IngestTelemetry) leave the process only when a collector is named.
        if (settings.Ingest?.OtlpEndpoint is { } otlp)
        {
            telemetry.ConfigureResource(r => r.AddService("lp-serve"))
                .WithTracing(t => t.AddSource(IngestTelemetry.SourceName).AddOtlpExporter(o => o.Endpoint = otlp));
        }

        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            if (settings.CorsOrigins is { } origins) policy.WithOrigins([.. origins]);
            else policy.AllowAnyOrigin();
            policy.WithMethods(TusHeaders.Methods).WithHeaders(TusHeaders.RequestHeaders).WithExposedHeaders(TusHeaders.ResponseHeaders)
                .SetPreflightMaxAge(TimeSpan.FromHours(1));
        }));

        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal)
                    ? RateLimitPartition.GetNoLimiter("health")
                    : RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = settings.RequestsPerMinute,
                        Window = TimeSpan.FromMinutes(1),
                    }));
            limiter.OnRejected = (context, _) =>
            {
                var http = context.HttpContext;
                http.Response.Headers.RetryAfter = "60";
                var message = $"more than {settings.RequestsPerMinute} requests a minute from this client";
                // The ingest API answers its own error body, as for every other refusal under /api.
                return new ValueTask(http.Request.Path.StartsWithSegments(IngestErrorResponses.ApiPrefix, StringComparison.Ordinal)
                    ? IngestErrorResponses.WriteAsync(http, StatusCodes.Status429TooManyRequests, IngestErrors.RateLimited, message)
                    : Problem.WriteAsync(http, StatusCodes.Status429TooManyRequests, message));
            };
        });

        if (settings.Jwt is { } jwt)
        {
            JwtAuthentication.Add(builder.Services, jwt);
            FilesApi.AddScopePolicies(builder.Services);
        }
        var ingest = IngestWiring.Create(host, settings, store, logger);
        store.ClamAv = ingest.Settings.ClamAv;
        var leftovers = new Ingest.Files.LeftoverSweeper(ingest);
        builder.Services.AddHostedService(_ => new ExpirationSweeper(store, metrics, logger, ingest.Settings.UploadSessionCleanupInterval, leftovers.SweepAsync));
        builder.Services.AddHostedService(_ => new Ingest.StorageElements.HealthChecker(ingest.Elements, ingest.Settings, host.Time));
        if (ingest.Settings.Discovery is { } discovery)
            builder.Services.AddHostedService(_ => new Ingest.StorageElements.StorageElementDiscovery(ingest.Elements, discovery, host.Time, logger));
        builder.Services.AddHostedService(_ => new Ingest.Publishing.FileEventOutbox(ingest.Events, host.Time, logger));
        if (ingest.Transfers is { } transfers)
            builder.Services.AddHostedService(_ => new Ingest.Transfers.TransferRecovery(transfers, host.Time, logger));

        var app = builder.Build();
        if (settings.Jwt is null) Log.AuthNone(logger, settings.ListenText);
        app.UseProblemResponses(logger);
        app.UseIngestErrors(logger);
        app.UseTusProtocol();
        app.UseCors();
        app.UseRateLimiter();
        app.UseRouting();
        if (settings.Jwt is not null)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }
        app.MapHealth(host, store);
        app.MapTus(store, metrics, logger, endpoint =>
        {
            if (settings.Jwt is not null) endpoint.RequireAuthorization(JwtAuthentication.UploadPolicy);
        });
        app.MapJobsApi(host, endpoint =>
        {
            if (settings.Jwt is not null) endpoint.RequireAuthorization(JwtAuthentication.AnyTokenPolicy);
        });
        app.MapDashboard();
        app.MapFilesApi(ingest, requireScopes: settings.Jwt is not null);
        app.MapOpenApiDocument(endpoint =>
        {
            if (settings.Jwt is not null) endpoint.RequireAuthorization(JwtAuthentication.AnyTokenPolicy);
        });
        if (settings.Ingest?.PrometheusMetricsEnabled != false)
        {
            var scrape = app.MapPrometheusScrapingEndpoint("/metrics");
            if (settings.Jwt is not null) scrape.RequireAuthorization(JwtAuthentication.AnyTokenPolicy);
        }
        return new LoadPipeServer(app, store, ingest);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Once started, serves until <paramref name="cancellationToken"/> (Ctrl-C, SIGTERM), then stops: requests in
    /// flight get a few seconds, and what they appended stays.</summary>
    public async Task ServeUntilAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // Disposed without a stop (tests, a failed start), the transfers running here still stop where they stand, as a
        // stopped server's do, for the next server on the manifest to take over.
        if (Ingest.Transfers is { } transfers) await transfers.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Ingest.Events.DisposeAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>True for a loopback address: where `auth: none` is allowed.</summary>
    public static bool IsLoopback(IPEndPoint endpoint) => IPAddress.IsLoopback(endpoint.Address);
}
