using System.Globalization;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Sizes;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Hosting.Jobs;
using LoadPipe.Server.Problems;
using LoadPipe.Storage.YouTube;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LoadPipe.Server.Jobs;

/// <summary>
/// The job queue over HTTP, under the server's auth: POST/GET /api/jobs (filters: state, user; paging: limit, before),
/// GET /api/jobs/{id} with its attempts, POST /api/jobs/{id}/cancel and /retry, GET /api/jobs/events (server-sent
/// events, one "job" event per change), GET /api/workers and /api/schedules for the dashboard, and seed 003's
/// /queue/jobs routes as aliases. A usage error is 400, an unknown job 404, a transition its state refuses 409; each
/// with a problem body.
/// </summary>
public static class JobsApi
{
    /// <summary>How often the event stream looks for changed jobs.</summary>
    private static readonly TimeSpan EventInterval = TimeSpan.FromMilliseconds(500);

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder endpoints, LoadPipeHost host, Action<IEndpointConventionBuilder> secure)
    {
        foreach (var root in new[] { "/api/jobs", "/queue/jobs" })
        {
            var group = endpoints.MapGroup(root);
            secure(group);
            group.MapPost("", context => AddAsync(context, host));
            group.MapGet("", context => ListAsync(context, host));
            // RequestDelegates, not typed lambdas: those need the request delegate factory's reflection, which AOT lacks.
            group.MapGet("/{id:long}", context => ShowAsync(context, host, Id(context)));
            group.MapPost("/{id:long}/cancel", context => ChangeAsync(context, host, cancel: true));
            group.MapPost("/{id:long}/retry", context => ChangeAsync(context, host, cancel: false));
            group.MapGet("/events", context => EventsAsync(context, host));
        }
        secure(endpoints.MapGet("/api/workers", async context =>
        {
            var queue = await host.JobQueueAsync(context.RequestAborted).ConfigureAwait(false);
            var workers = new List<WorkerView>();
            await foreach (var w in queue.ListWorkersAsync(context.RequestAborted).ConfigureAwait(false))
                workers.Add(new WorkerView(w.Name, w.Host, w.ProcessId, w.Concurrency, w.Running, w.State, w.StartedAt, w.HeartbeatAt));
            await WriteAsync(context, 200, workers, JobsJson.Default.ListWorkerView).ConfigureAwait(false);
        }));
        secure(endpoints.MapGet("/api/schedules", async context =>
        {
            var queue = await host.JobQueueAsync(context.RequestAborted).ConfigureAwait(false);
            var schedules = (await queue.ListSchedulesAsync(context.RequestAborted).ConfigureAwait(false))
                .Select(s => new ScheduleView(s.Name, s.Cron, s.TimeZone, Core.Locations.Location.Display(s.Source), Core.Locations.Location.Display(s.Destination),
                    s.NextTick, s.LastTick, s.LastJobId)).ToList();
            await WriteAsync(context, 200, schedules, JobsJson.Default.ListScheduleView).ConfigureAwait(false);
        }));
        return endpoints;
    }

    private static async Task AddAsync(HttpContext context, LoadPipeHost host)
    {
        JobCreateBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, JobsJson.Default.JobCreateBody, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await Problem.WriteAsync(context, 400, "the body is not a job: " + e.Message.Split('\n')[0]).ConfigureAwait(false);
            return;
        }
        await GuardAsync(context, async () =>
        {
            if (body?.Source is not { Length: > 0 } source || body.Destination is not { Length: > 0 } destination)
                throw new LoadPipeException(ErrorKind.Usage, "a job needs a source and a destination");
            var request = new JobRequest(source, destination)
            {
                Settings = new JobSettings
                {
                    Process = body.Process is { Count: > 0 } p ? p : null,
                    ChunkSize = body.ChunkSize is { } cs ? ByteSize.Parse(cs, "chunk_size") : null,
                    BandwidthLimit = body.Bwlimit is { } bw ? ByteSize.Parse(bw, "bwlimit") : null,
                    Include = body.Include is { Count: > 0 } inc ? inc : null,
                    Exclude = body.Exclude is { Count: > 0 } exc ? exc : null,
                    Hash = body.Hash is { Count: > 0 } h ? h : null,
                    Checksum = body.Checksum,
                },
                Metadata = body.Meta is { ValueKind: JsonValueKind.Object } meta
                    ? new Dictionary<string, string> { [VideoMetadata.MetadataKey] = VideoMetadata.Parse(meta.GetRawText(), "meta").ToJson() }
                    : null,
                Priority = body.Priority ?? 0,
                MaxAttempts = body.MaxRetries is { } retries
                    ? retries < 0 ? throw new LoadPipeException(ErrorKind.Usage, "max_retries must be 0 or more") : retries + 1
                    : JobDefaults.MaxAttempts,
                RunAfter = body.After,
                User = body.User,
            };
            var (job, created) = await host.EnqueueAsync(request, context.RequestAborted).ConfigureAwait(false);
            context.Response.Headers.Location = $"/api/jobs/{job.Id.ToString(CultureInfo.InvariantCulture)}";
            await WriteAsync(context, created ? 201 : 200, JobView.Of(job), JobsJson.Default.JobView).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private static Task ListAsync(HttpContext context, LoadPipeHost host) => GuardAsync(context, async () =>
    {
        var q = context.Request.Query;
        var query = new JobQuery
        {
            State = q["state"].FirstOrDefault() is { Length: > 0 } s ? JobRows.TryParseState(s) ?? throw new LoadPipeException(ErrorKind.Usage, $"state '{s}': expected pending, running, completed, failed or cancelled") : null,
            User = q["user"].FirstOrDefault() is { Length: > 0 } u ? u : null,
            Limit = Number(q["limit"].FirstOrDefault(), "limit") is { } limit ? (int)Math.Clamp(limit, 1, 1000) : 50,
            BeforeId = Number(q["before"].FirstOrDefault(), "before"),
        };
        var queue = await host.JobQueueAsync(context.RequestAborted).ConfigureAwait(false);
        var jobs = new List<JobView>();
        await foreach (var job in queue.ListJobsAsync(query, context.RequestAborted).ConfigureAwait(false)) jobs.Add(JobView.Of(job));
        await WriteAsync(context, 200, new JobPage(jobs, jobs.Count == query.Limit ? jobs[^1].Id : null), JobsJson.Default.JobPage).ConfigureAwait(false);
    });

    private static Task ShowAsync(HttpContext context, LoadPipeHost host, long id) => GuardAsync(context, async () =>
    {
        var queue = await host.JobQueueAsync(context.RequestAborted).ConfigureAwait(false);
        var job = await queue.GetJobAsync(id, context.RequestAborted).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.NotFound, $"job {id} does not exist");
        var attempts = await queue.ListAttemptsAsync(id, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, 200, JobView.Of(job, attempts), JobsJson.Default.JobView).ConfigureAwait(false);
    });

    private static long Id(HttpContext context) => long.Parse((string)context.Request.RouteValues["id"]!, CultureInfo.InvariantCulture);

    private static Task ChangeAsync(HttpContext context, LoadPipeHost host, bool cancel) =>
        GuardAsync(context, async () =>
        {
            var queue = await host.JobQueueAsync(context.RequestAborted).ConfigureAwait(false);
            var job = cancel ? await queue.CancelAsync(Id(context), context.RequestAborted).ConfigureAwait(false)
                : await queue.RetryAsync(Id(context), context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, 200, JobView.Of(job), JobsJson.Default.JobView).ConfigureAwait(false);
        }, refusedStatus: 409);

    /// <summary>Server-sent events: at first every job of the newest page, then each job as it changes (its progress
    /// included), as <c>event: job</c> with the job's JSON; a comment line every 15 s keeps proxies from closing it.</summary>
    private static async Task EventsAsync(HttpContext context, LoadPipeHost host)
    {
        var queue = await host.JobQueueAsync(context.RequestAborted).ConfigureAwait(false);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        var since = DateTimeOffset.MinValue;
        var lastWrite = host.Time.GetUtcNow();
        try
        {
            while (!context.RequestAborted.IsCancellationRequested)
            {
                var changed = new List<JobRecord>();
                var query = since == DateTimeOffset.MinValue ? new JobQuery { Limit = 200 } : new JobQuery { Limit = 1000, UpdatedAfter = since };
                await foreach (var job in queue.ListJobsAsync(query, context.RequestAborted).ConfigureAwait(false)) changed.Add(job);
                foreach (var job in changed.OrderBy(j => j.UpdatedAt))
                {
                    await response.WriteAsync("event: job\ndata: " + JsonSerializer.Serialize(JobView.Of(job), JobsJson.Default.JobView) + "\n\n", context.RequestAborted).ConfigureAwait(false);
                    if (job.UpdatedAt > since) since = job.UpdatedAt;
                }
                if (since == DateTimeOffset.MinValue) since = DateTimeOffset.UnixEpoch;
                var now = host.Time.GetUtcNow();
                if (changed.Count > 0) lastWrite = now;
                else if (now - lastWrite > TimeSpan.FromSeconds(15))
                {
                    await response.WriteAsync(": keep-alive\n\n", context.RequestAborted).ConfigureAwait(false);
                    lastWrite = now;
                }
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                await Task.Delay(EventInterval, host.Time, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    /// <summary>Runs a handler, turning the queue's one-line errors into problem responses.</summary>
    private static async Task GuardAsync(HttpContext context, Func<Task> handler, int refusedStatus = 400)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (LoadPipeException e) when (e.Kind is ErrorKind.Usage or ErrorKind.NotFound)
        {
            await Problem.WriteAsync(context, e.Kind == ErrorKind.NotFound ? 404 : refusedStatus, e.Message).ConfigureAwait(false);
        }
    }

    private static long? Number(string? text, string name) =>
        text is null or "" ? null
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new LoadPipeException(ErrorKind.Usage, $"{name} '{text}': expected a whole number");

    private static Task WriteAsync<T>(HttpContext context, int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}
