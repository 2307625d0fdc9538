using System.Text.Json.Serialization;
using LoadPipe.Core.Jobs;
using LoadPipe.Core.Locations;

namespace LoadPipe.Server.Jobs;

/// <summary>A job as the API shows it: the fields of `lp jobs show --json`.</summary>
public sealed record JobView(long Id, string State, string? Phase, string Source, string Destination, ProgressView Progress, string? Error,
    string? User, int Priority, int Attempt, int MaxAttempts, DateTimeOffset RunAfter, string? Worker, DateTimeOffset? LeaseExpires,
    bool CancelRequested, string? Schedule, long? Session, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt,
    string? Delivered, long? DuplicateOf, IReadOnlyList<AttemptView>? Attempts)
{
    public static JobView Of(JobRecord j, IReadOnlyList<JobAttempt>? attempts = null) => new(
        j.Id, JobRows.Name(j.State), j.Phase, Location.Display(j.Source), Location.Display(j.Destination),
        new ProgressView(j.BytesDone, j.BytesTotal, j.Message), j.Error, j.User, j.Priority, j.Attempt, j.MaxAttempts, j.RunAfter, j.Holder,
        j.LeaseExpires, j.CancelRequested, j.Schedule, j.SessionId, j.CreatedAt, j.UpdatedAt, j.FinishedAt,
        j.Delivered is { } d ? Location.Display(d) : null, j.DuplicateOf,
        attempts?.Select(a => new AttemptView(a.Run, a.Worker, a.StartedAt, a.EndedAt, a.BytesSent, a.BytesResumed, a.Error, a.SessionId)).ToList());
}

public sealed record ProgressView(long BytesDone, long BytesTotal, string? Message);

public sealed record AttemptView(int Run, string Worker, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, long BytesSent, long BytesResumed, string? Error, long? Session);

/// <summary>A page of jobs, newest first; <see cref="NextBefore"/> asks for the next page (?before=).</summary>
public sealed record JobPage(IReadOnlyList<JobView> Jobs, long? NextBefore);

public sealed record WorkerView(string Name, string Host, int Pid, int Concurrency, int Running, string State, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);

public sealed record ScheduleView(string Name, string Cron, string TimeZone, string Source, string Destination, DateTimeOffset NextTick,
    DateTimeOffset? LastTick, long? LastJob);

/// <summary>POST /api/jobs: what `lp jobs add` takes, as JSON. Sizes as text ("8M"); <see cref="After"/> as an ISO 8601 time.</summary>
public sealed record JobCreateBody
{
    public string? Source { get; init; }
    public string? Destination { get; init; }
    public List<string>? Process { get; init; }
    public string? ChunkSize { get; init; }
    public string? Bwlimit { get; init; }
    public List<string>? Include { get; init; }
    public List<string>? Exclude { get; init; }
    public List<string>? Hash { get; init; }
    public bool? Checksum { get; init; }
    public int? Priority { get; init; }
    public int? MaxRetries { get; init; }
    public DateTimeOffset? After { get; init; }
    public string? User { get; init; }
    /// <summary>For a youtube destination: the video's metadata as `--meta` takes it (snippet, status).</summary>
    public System.Text.Json.JsonElement? Meta { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobView))]
[JsonSerializable(typeof(JobPage))]
[JsonSerializable(typeof(List<WorkerView>))]
[JsonSerializable(typeof(List<ScheduleView>))]
[JsonSerializable(typeof(JobCreateBody))]
internal sealed partial class JobsJson : JsonSerializerContext;
