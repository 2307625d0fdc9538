using LoadPipe.Core.Errors;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Storage.YouTube;

namespace LoadPipe.Hosting.Jobs;

/// <summary>A job as a front asks for it (`lp jobs add`, POST /api/jobs, a schedule's tick).</summary>
public sealed record JobRequest(string Source, string Destination)
{
    public JobSettings Settings { get; init; } = new();
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    public string? User { get; init; }
    public int Priority { get; init; }
    public DateTimeOffset? RunAfter { get; init; }
    /// <summary>Default <see cref="JobDefaults.MaxAttempts"/>.</summary>
    public int MaxAttempts { get; init; } = JobDefaults.MaxAttempts;
}

/// <summary>
/// Turns a request into a queued job, checked as `lp copy` checks its command line before it moves a byte: both
/// locations resolve (an unknown remote is a usage error), the options are in range, every stage exists and is one a
/// worker may run (no exec:), metadata goes only to a destination that takes it. A local path is stored absolute.
/// </summary>
public static class JobSubmissions
{
    /// <summary>The queue in <paramref name="host"/>'s manifest.</summary>
    public static async Task<IJobQueue> JobQueueAsync(this LoadPipeHost host, CancellationToken cancellationToken = default) =>
        await host.ManifestAsync(cancellationToken).ConfigureAwait(false) as IJobQueue
        ?? throw new LoadPipeException(ErrorKind.Usage, "this manifest has no job queue");

    public static async Task<(JobRecord Job, bool Created)> EnqueueAsync(this LoadPipeHost host, JobRequest request, CancellationToken cancellationToken = default)
    {
        var job = Prepare(host, request);
        var queue = await host.JobQueueAsync(cancellationToken).ConfigureAwait(false);
        return await queue.EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The checked job, not yet queued. Usage errors as one line.</summary>
    public static NewJob Prepare(LoadPipeHost host, JobRequest request)
    {
        if (request.MaxAttempts < 1) throw new LoadPipeException(ErrorKind.Usage, "--max-retries must be 0 or more");
        if (request.Source == "-" || request.Destination == "-")
            throw new LoadPipeException(ErrorKind.Usage, "a job cannot read stdin or write stdout: a worker runs it later, elsewhere");
        var resolver = host.ResolverFor(request.User);
        var source = resolver.Resolve(request.Source);
        var destination = resolver.Resolve(request.Destination);
        var options = host.Options(request.Settings, null, "copy");
        // Workers never run exec: (LoadPipeHostSettings.AllowExec): refused now rather than failing on every attempt.
        new StageCatalog(allowExec: false).ParseAll(options.Stages);
        if (request.Metadata is { Count: > 0 } && destination.Storage is not YouTubeStorage)
            throw new LoadPipeException(ErrorKind.Usage, $"--meta and the video flags (--title, --description, --tags, --category, --privacy) are for a youtube destination, not {destination}");
        var spec = new JobSpec
        {
            Settings = request.Settings,
            Metadata = request.Metadata is { Count: > 0 } m ? new Dictionary<string, string>(m) : null,
        };
        var sourceText = Stored(request.Source, source);
        var destinationText = Stored(request.Destination, destination);
        return new NewJob(sourceText, destinationText, spec.ToJson())
        {
            User = request.User,
            Priority = request.Priority,
            RunAfter = request.RunAfter,
            MaxAttempts = request.MaxAttempts,
            // The same copy (both places, the same stages) is queued once while it is pending or running.
            UniqueKey = $"copy\n{source.Key}\n{destination.Key}\n{string.Join(StageCatalog.PipelineSeparator, options.Stages)}\n{request.User}",
            QuotaScope = QuotaScope(request.Destination, destination),
        };
    }

    /// <summary>A local path as an absolute one (a worker's working folder is not the caller's); anything else as given.</summary>
    private static string Stored(string text, Location location)
    {
        if (!location.Key.StartsWith("file://", StringComparison.Ordinal) || text.StartsWith("file://", StringComparison.OrdinalIgnoreCase)) return text;
        var full = Path.GetFullPath(text);
        return text.EndsWith('/') && !full.EndsWith('/') ? full + "/" : full;
    }

    /// <summary>Jobs to one remote share its quota: only stores that have one (YouTube) get a scope.</summary>
    internal static string? QuotaScope(string text, Location destination) =>
        destination.Storage is YouTubeStorage ? "remote:" + text.Split(':', 2)[0] : null;
}
