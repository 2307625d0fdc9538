using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Sizes;
using LoadPipe.Hosting.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>Discovery's settings (`server.ingest.redis_url`, `discovery_channel`, `discovery_fallback_file`).</summary>
public sealed record DiscoverySettings(RedisAddress Redis, string Channel, string FallbackFile)
{
    /// <summary>The longest wait to connect to Redis.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first pause before connecting again after Redis was lost; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Storage element discovery: subscribes to the Redis pub/sub channel (`artstore:storage-elements`), each message of
/// which is the whole element list in JSON, the shape of `server.storage_elements`, and applies each list live (an
/// element that stays keeps its usage, health and breaker; uploads under way finish on the element they started on).
/// While Redis cannot be reached, the fallback file's list applies (once per outage, read when Redis is lost), and the
/// subscriber keeps connecting again, 1 s, 2 s, ... up to 30 s apart. A list that cannot be read is logged and ignored.
/// </summary>
public sealed class StorageElementDiscovery(StorageElementRegistry elements, DiscoverySettings settings, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>Where the list in force came from: "config", "redis" or "fallback".</summary>
    public string Source { get; private set; } = "config";

    /// <summary>The fallback file was read in this outage (it is read again in the next one).</summary>
    private bool _fallbackRead;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = settings.RetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var redis = await RespConnection.ConnectAsync(settings.Redis, settings.ConnectTimeout, stoppingToken).ConfigureAwait(false);
                await redis.SendAsync(["SUBSCRIBE", settings.Channel], stoppingToken).ConfigureAwait(false);
                var confirmed = await redis.ReadAsync(stoppingToken).ConfigureAwait(false);
                if (confirmed is RedisErrorException error) throw error;
                Log.DiscoverySubscribed(logger, settings.Redis.ToString(), settings.Channel);
                delay = settings.RetryDelay;
                _fallbackRead = false;
                while (true)
                {
                    // A push: ["message", channel, payload].
                    if (await redis.ReadAsync(stoppingToken).ConfigureAwait(false) is object?[] { Length: 3 } push
                        && push[0] is "message" && push[2] is string payload)
                        Apply(payload, "redis");
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.DiscoveryLost(logger, settings.Redis.ToString(), e.Message);
                if (!_fallbackRead)
                {
                    _fallbackRead = true;
                    ApplyFallback();
                }
            }
            try
            {
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, settings.MaxRetryDelay.Ticks));
        }
    }

    /// <summary>Applies the fallback file's list; without the file, the list in force stays.</summary>
    private void ApplyFallback()
    {
        string text;
        try
        {
            text = File.ReadAllText(settings.FallbackFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.DiscoveryNoFallback(logger, settings.FallbackFile, e.Message);
            return;
        }
        Apply(text, "fallback");
    }

    private void Apply(string json, string source)
    {
        try
        {
            var list = StorageElementList.Parse(json);
            elements.Replace(list);
            Source = source;
            Log.DiscoveryApplied(logger, source, list.Count, string.Join(", ", list.Select(e => e.Id)));
        }
        catch (LoadPipeException e)
        {
            Log.DiscoveryIgnored(logger, source, e.Message);
        }
    }
}

/// <summary>
/// The element list in JSON, as discovery messages and the fallback file carry it: the shape of `server.storage_elements`,
/// `[{"id":"se1","location":"/srv/se1/","mode":"rw","capacity":"100G","region":"eu"}, ...]` (or that list under
/// `"storage_elements"`). `capacity` is a number of bytes or a size ("100G"); `mode` defaults to rw.
/// </summary>
public static class StorageElementList
{
    public static IReadOnlyList<StorageElementConfig> Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"the element list is not JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("storage_elements", out var inner)) root = inner;
            if (root.ValueKind != JsonValueKind.Array) throw new LoadPipeException(ErrorKind.Usage, "the element list must be a JSON array of elements ({ id, location, mode, capacity, region })");
            var elements = new List<StorageElementConfig>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            var i = 0;
            foreach (var item in root.EnumerateArray())
            {
                var at = $"storage_elements[{i++}]";
                if (item.ValueKind != JsonValueKind.Object) throw new LoadPipeException(ErrorKind.Usage, $"{at}: expected an object");
                string? id = null, location = null, mode = null, region = null;
                long? capacity = null;
                foreach (var property in item.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "id": id = Text(property.Value, at + ".id"); break;
                        case "location": location = Text(property.Value, at + ".location"); break;
                        case "mode": mode = Text(property.Value, at + ".mode"); break;
                        case "region": region = property.Value.ValueKind == JsonValueKind.Null ? null : Text(property.Value, at + ".region"); break;
                        case "capacity": capacity = Capacity(property.Value, at + ".capacity"); break;
                        default: throw new LoadPipeException(ErrorKind.Usage, $"{at}: unknown key '{property.Name}' (known: id, location, mode, capacity, region)");
                    }
                }
                if (string.IsNullOrWhiteSpace(id)) throw new LoadPipeException(ErrorKind.Usage, $"{at}: 'id' is missing");
                if (!ids.Add(id)) throw new LoadPipeException(ErrorKind.Usage, $"{at}: the id '{id}' is used twice");
                if (string.IsNullOrWhiteSpace(location)) throw new LoadPipeException(ErrorKind.Usage, $"{at}: 'location' is missing");
                mode ??= "rw";
                if (!ConfigReader.StorageElementModes.Contains(mode)) throw new LoadPipeException(ErrorKind.Usage, $"{at}.mode: '{mode}' is not a mode (edit, rw, ro, ar)");
                elements.Add(new StorageElementConfig { Id = id, Location = location, Mode = mode, Capacity = capacity, Region = region });
            }
            return elements;
        }
    }

    private static string Text(JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new LoadPipeException(ErrorKind.Usage, $"{where}: expected a string");

    private static long? Capacity(JsonElement value, string where) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number when value.TryGetInt64(out var bytes) && bytes > 0 => bytes,
        JsonValueKind.String when ByteSize.TryParse(value.GetString()!, out var size) => size,
        _ => throw new LoadPipeException(ErrorKind.Usage, $"{where}: '{value.GetRawText()}' is not a size (a number of bytes, or 100G)"),
    };
}
