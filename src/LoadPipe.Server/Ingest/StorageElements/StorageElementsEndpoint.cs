using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>One element as `GET /api/storage-elements` shows it.</summary>
public sealed record StorageElementBody(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("location")] string Location,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("capacity_bytes")] long? CapacityBytes,
    [property: JsonPropertyName("used_bytes")] long UsedBytes,
    [property: JsonPropertyName("region")] string? Region,
    [property: JsonPropertyName("healthy")] bool Healthy,
    [property: JsonPropertyName("available")] bool Available,
    [property: JsonPropertyName("circuit_breaker_state")] string CircuitBreakerState,
    [property: JsonPropertyName("last_check_at")] DateTimeOffset? LastCheckAt,
    [property: JsonPropertyName("last_error")] string? LastError);

public sealed record StorageElementsBody(
    [property: JsonPropertyName("storage_elements")] IReadOnlyList<StorageElementBody> StorageElements);

/// <summary>`GET /api/storage-elements`: each element's configuration and state (usage, health, breaker).</summary>
internal static class StorageElementsEndpoint
{
    public static async Task HandleAsync(HttpContext context, IngestService ingest)
    {
        await ingest.LoadUsageAsync(context.RequestAborted).ConfigureAwait(false);
        var body = new StorageElementsBody([.. ingest.Elements.All.Select(e => new StorageElementBody(
            e.Id, e.Location.ToString(), e.Config.Mode, e.Config.Capacity, e.UsedBytes, e.Config.Region, e.Healthy, e.Available,
            e.BreakerState, e.LastCheckAt, e.LastError))]);
        await context.Response.WriteAsJsonAsync(body, IngestJson.Default.StorageElementsBody, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }
}
