using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Ingest.StorageElements;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest.Publishing;

/// <summary>What the upload saga's `publish` step announces on `ingest.publish_channel` (one JSON message each):
/// `file_stored` once a file is stored and recorded, `file_removed` when a later step failed and the saga undid it.</summary>
public sealed record FileEvent(
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("event_id")] string EventId,
    [property: JsonPropertyName("file_id")] string FileId,
    [property: JsonPropertyName("storage_element_id")] string StorageElementId,
    [property: JsonPropertyName("storage_filename")] string StorageFilename,
    [property: JsonPropertyName("size_bytes")] long SizeBytes,
    [property: JsonPropertyName("sha256_hash")] string Sha256Hash,
    [property: JsonPropertyName("at")] DateTimeOffset At)
{
    public const string Stored = "file_stored";
    public const string Removed = "file_removed";

    public static FileEvent For(string kind, FileRecord record, DateTimeOffset at) => new(
        kind, Guid.NewGuid().ToString("D"), record.FileId, record.StorageElementId, record.StorageFilename, record.SizeBytes, record.Sha256Hash, at);
}

/// <summary>
/// The upload saga's `publish` step (docs/ingest.md, "Sagas"): PUBLISH of a <see cref="FileEvent"/> on the Redis that
/// discovery subscribes to, over one kept connection. Delivery is at least once: when Redis cannot be reached, the
/// event is kept in the manifest (keyed state, scope `ingest:outbox`) and the step is done, so that Redis being away
/// fails no upload (as discovery's fallback promises); <see cref="FileEventOutbox"/> sends what is kept, in order, once
/// Redis answers again. Only a failure to keep it (the manifest) fails the step, which the saga retries and then undoes.
/// Without Redis (`ingest.redis_url` unset) there is nobody to tell and the step does nothing.
/// </summary>
public sealed class FileEventPublisher(DiscoverySettings? redis, string channel, Func<CancellationToken, Task<IManifest>> openManifest,
    TimeProvider time, ILogger logger) : IAsyncDisposable
{
    public const string OutboxScope = "ingest:outbox";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _kept = new(0, int.MaxValue);
    private RespConnection? _connection;

    public string Channel => channel;

    /// <summary>true when a Redis is configured to publish on.</summary>
    public bool Enabled => redis is not null;

    /// <summary>Signalled each time an event is kept for later.</summary>
    internal SemaphoreSlim Kept => _kept;

    internal DiscoverySettings? Redis => redis;

    /// <summary>Publishes <paramref name="e"/>, or keeps it for the outbox when Redis cannot be reached.</summary>
    public async Task PublishOrKeepAsync(FileEvent e, CancellationToken cancellationToken)
    {
        if (redis is null) return;
        var json = JsonSerializer.Serialize(e, IngestJson.Default.FileEvent);
        try
        {
            await PublishAsync(json, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (LoadPipeException failure) when (failure.Kind == ErrorKind.Transient && !cancellationToken.IsCancellationRequested)
        {
            Log.EventKept(logger, e.Event, e.FileId, failure.Message);
        }
        var state = (IAdapterStateStore)await openManifest(cancellationToken).ConfigureAwait(false);
        await state.PutStateAsync(OutboxScope, OutboxKey(e), json, cancellationToken).ConfigureAwait(false);
        _kept.Release();
    }

    /// <summary>Drops a kept event that was never sent (the saga undoing a publish that did not go out); false when it
    /// was not kept, that is, when it went out.</summary>
    public async Task<bool> ForgetAsync(FileEvent e, CancellationToken cancellationToken)
    {
        if (redis is null) return true;
        var state = (IAdapterStateStore)await openManifest(cancellationToken).ConfigureAwait(false);
        return await state.DeleteStateAsync(OutboxScope, OutboxKey(e), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The outbox key: the event's time first, so that a listing gives the events in the order they happened.</summary>
    private static string OutboxKey(FileEvent e) => $"{e.At.UtcTicks:D19}-{e.EventId}";

    /// <summary>One PUBLISH; a Redis that cannot be reached, times out or answers an error is a transient failure.</summary>
    internal async Task PublishAsync(string json, CancellationToken cancellationToken)
    {
        var settings = redis ?? throw new InvalidOperationException("no Redis to publish on");
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(settings.ConnectTimeout);
            _connection ??= await RespConnection.ConnectAsync(settings.Redis, settings.ConnectTimeout, limit.Token).ConfigureAwait(false);
            var reply = await _connection.CommandAsync(["PUBLISH", channel, json], limit.Token).ConfigureAwait(false);
            if (reply is RedisErrorException error) throw error;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException or RedisErrorException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await DropConnectionAsync().ConfigureAwait(false);
            throw new LoadPipeException(ErrorKind.Transient, $"could not publish on Redis at {settings.Redis}: {e.Message}", e);
        }
        catch
        {
            await DropConnectionAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends the kept events, oldest first, each removed once Redis took it; stops at the first that does not go.</summary>
    internal async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)await openManifest(cancellationToken).ConfigureAwait(false);
        var kept = new List<AdapterStateEntry>();
        await foreach (var entry in state.ListStateAsync(OutboxScope, "", cancellationToken).ConfigureAwait(false)) kept.Add(entry);
        var sent = 0;
        foreach (var entry in kept.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            await PublishAsync(entry.Value, cancellationToken).ConfigureAwait(false);
            await state.DeleteStateAsync(OutboxScope, entry.Key, cancellationToken).ConfigureAwait(false);
            sent++;
        }
        if (sent > 0) Log.OutboxSent(logger, sent, time.GetUtcNow());
        return sent;
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DropConnectionAsync().ConfigureAwait(false);
        _gate.Dispose();
        _kept.Dispose();
    }
}

/// <summary>Sends the events <see cref="FileEventPublisher"/> kept while Redis was away: at start (what a stopped server
/// kept), after each kept event, and again 1 s, 2 s, ... up to discovery's longest pause apart while Redis stays away.</summary>
public sealed class FileEventOutbox(FileEventPublisher publisher, TimeProvider time, ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (publisher.Redis is not { } redis) return;
        var delay = redis.RetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            bool done;
            try
            {
                await publisher.FlushAsync(stoppingToken).ConfigureAwait(false);
                done = true;
                delay = redis.RetryDelay;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.OutboxNotSent(logger, e.Message);
                done = false;
            }
            try
            {
                if (done) await publisher.Kept.WaitAsync(stoppingToken).ConfigureAwait(false);
                else
                {
                    await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, redis.MaxRetryDelay.Ticks));
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
