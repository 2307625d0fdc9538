using System.Text.Json.Serialization;

namespace LoadPipe.Server.Ingest.Sagas;

/// <summary>One step of a saga: its action and, when it can be undone, the action that undoes it.</summary>
public sealed record SagaStep(string Name, Func<CancellationToken, Task> Run, Func<CancellationToken, Task>? Compensate = null);

/// <summary>A saga as recorded for audit (manifest keyed state, scope `ingest:sagas`).</summary>
public sealed record SagaRecord
{
    [JsonPropertyName("saga_id")] public required string SagaId { get; init; }
    [JsonPropertyName("saga")] public required string Saga { get; init; }
    [JsonPropertyName("file_id")] public required string FileId { get; init; }

    /// <summary>completed, compensated (a step failed and every done step was undone), or failed (an undo failed too).</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }

    [JsonPropertyName("steps")] public required IReadOnlyList<SagaStepRecord> Steps { get; init; }
    [JsonPropertyName("started_at")] public required DateTimeOffset StartedAt { get; init; }
    [JsonPropertyName("finished_at")] public required DateTimeOffset FinishedAt { get; init; }
}

/// <param name="Status">done, failed, compensated, compensation_failed, or skipped (not reached).</param>
public sealed record SagaStepRecord(
    [property: JsonPropertyName("step")] string Step,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("error")] string? Error);

/// <summary>A saga that failed: its steps were undone (or not, <see cref="Compensated"/> says), and the step's failure is
/// the inner exception.</summary>
public sealed class SagaFailedException(string saga, string step, bool compensated, Exception inner)
    : Exception($"the {saga} saga failed at '{step}': {inner.Message}", inner)
{
    public string Step { get; } = step;
    public bool Compensated { get; } = compensated;

    /// <summary>False when sagas are off (`saga_enabled: false`): the steps ran without the saga's bookkeeping, and the
    /// failure is answered as the store's, not the saga's.</summary>
    public bool Bookkept { get; init; } = true;
}

/// <summary>A saga ran past `saga_timeout`: the step under way was cancelled, and the steps done were undone.</summary>
public sealed class SagaTimeoutException(TimeSpan timeout)
    : Exception(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the saga did not finish within its timeout of {timeout.TotalSeconds:0.###} s"));
