using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// Resumable uploads of the ingest API (`X-Upload-Session-ID`). A session IS an upload of the push entry, the one a tus
/// upload is: its bytes, offset, expiry and what it is (the keys below, in the upload's metadata) live in the manifest,
/// so any process sharing it continues the session, a kill -9 loses no byte it reported, and the tus sweeper removes a
/// session left idle past its expiry. What this class keeps in memory is a gate per session, so that one process takes one
/// part of a session at a time. A session that failed at its end is recorded (manifest keyed state, scope <see cref="Scope"/>)
/// until its expiry, so that its status can say so.
/// </summary>
public sealed class UploadSessions
{
    public const string Scope = "ingest:sessions";

    /// <summary>The push entry's id of session <paramref name="sessionId"/> (a UUID, "D" form, lowercase).</summary>
    public static string UploadIdOf(string sessionId) => "ingest-" + sessionId;

    // Metadata keys of a session's upload: a space, which a tus client's key cannot hold, keeps them apart from those.
    public const string SessionKey = "lp ingest session";
    public const string FileIdKey = "lp ingest file";
    public const string ElementKey = "lp ingest element";
    public const string StorageFilenameKey = "lp ingest name";
    public const string FilenameKey = "lp ingest filename";
    public const string OwnerKey = "lp ingest owner";
    public const string MimeKey = "lp ingest mime";
    public const string TotalKey = "lp ingest total";
    public const string TtlKey = "lp ingest ttl";
    public const string MetadataKey = "lp ingest metadata";
    public const string Md5Key = "lp ingest md5";
    public const string Sha256Key = "lp ingest sha256";

    private readonly ConcurrentDictionary<string, SessionState> _states = new(StringComparer.Ordinal);

    /// <summary>True for an upload that is an API session: the tus endpoints leave it alone.</summary>
    public static bool IsSession(Upload upload) => upload.Metadata.ContainsKey(SessionKey);

    /// <summary>This process's state of the session: its gate.</summary>
    internal SessionState State(string sessionId, DateTimeOffset expires)
    {
        var state = _states.GetOrAdd(sessionId, _ => new SessionState());
        state.Expires = expires;
        return state;
    }

    /// <summary>Forgets a session that ended, and any whose expiry passed (the sweeper removed them, or will).</summary>
    internal void Forget(string sessionId, DateTimeOffset now)
    {
        _states.TryRemove(sessionId, out _);
        foreach (var (id, state) in _states)
            if (state.Expires < now && state.Gate.CurrentCount == 1) _states.TryRemove(id, out _);
    }

    internal static async Task PutFailedAsync(IManifest manifest, UploadSessionBody failed) =>
        await ((IAdapterStateStore)manifest).PutStateAsync(Scope, failed.SessionId,
            JsonSerializer.Serialize(failed, UploadSessionJson.Default.UploadSessionBody), CancellationToken.None).ConfigureAwait(false);

    /// <summary>The record of a session that failed at its end, while it has not expired (an expired one is deleted).</summary>
    internal static async Task<UploadSessionBody?> GetFailedAsync(IManifest manifest, string sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)manifest;
        if (await state.GetStateAsync(Scope, sessionId, cancellationToken).ConfigureAwait(false) is not { } json) return null;
        var failed = JsonSerializer.Deserialize(json, UploadSessionJson.Default.UploadSessionBody);
        if (failed is not null && failed.ExpiresAt > now) return failed;
        await state.DeleteStateAsync(Scope, sessionId, CancellationToken.None).ConfigureAwait(false);
        return null;
    }

    /// <summary>Deletes the failure records whose expiry passed (called as sessions start: they are few).</summary>
    internal static async Task SweepFailedAsync(IManifest manifest, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)manifest;
        var expired = new List<string>();
        await foreach (var entry in state.ListStateAsync(Scope, "", cancellationToken).ConfigureAwait(false))
            if (JsonSerializer.Deserialize(entry.Value, UploadSessionJson.Default.UploadSessionBody) is not { } failed || failed.ExpiresAt <= now)
                expired.Add(entry.Key);
        foreach (var key in expired) await state.DeleteStateAsync(Scope, key, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The status body of a session's upload.</summary>
    internal static UploadSessionBody Describe(string sessionId, Upload upload, string status, string? fileId = null)
    {
        var ttl = Ttl(upload);
        var expires = upload.Expires ?? upload.Created + ttl;
        return new UploadSessionBody
        {
            SessionId = sessionId, Status = status, BytesUploaded = upload.Offset, BytesTotal = Total(upload),
            PercentComplete = Percent(upload.Offset, Total(upload)),
            CreatedAt = upload.Created, LastActivityAt = expires - ttl, ExpiresAt = expires, FileId = fileId,
        };
    }

    public static long Total(Upload upload) => long.Parse(upload.Metadata[TotalKey], CultureInfo.InvariantCulture);

    /// <summary>The TTL the session was made with: each part renews its expiry to then + TTL, so the last activity is the expiry - TTL.</summary>
    public static TimeSpan Ttl(Upload upload) => TimeSpan.FromSeconds(long.Parse(upload.Metadata[TtlKey], CultureInfo.InvariantCulture));

    /// <summary>Whole percents, rounded down: 100 only once every byte arrived.</summary>
    public static int Percent(long uploaded, long total) => total <= 0 ? 100 : (int)(uploaded * 100 / total);
}

/// <summary>What one process keeps of a session: one part at a time. Its hashes are the push entry's (the session's
/// upload asks for MD5 beside SHA-256).</summary>
internal sealed class SessionState
{
    public SemaphoreSlim Gate { get; } = new(1, 1);
    public DateTimeOffset Expires { get; set; }
}

/// <summary>`GET /api/files/upload/session/{id}` (and the record of a session that failed).</summary>
public sealed record UploadSessionBody
{
    [JsonPropertyName("session_id")] public required string SessionId { get; init; }

    /// <summary>in_progress, completed or failed.</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }

    [JsonPropertyName("bytes_uploaded")] public long BytesUploaded { get; init; }
    [JsonPropertyName("bytes_total")] public long BytesTotal { get; init; }
    [JsonPropertyName("percent_complete")] public int PercentComplete { get; init; }
    [JsonPropertyName("created_at")] public DateTimeOffset CreatedAt { get; init; }
    [JsonPropertyName("last_activity_at")] public DateTimeOffset LastActivityAt { get; init; }
    [JsonPropertyName("expires_at")] public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The file the session became, once completed.</summary>
    [JsonPropertyName("file_id")] public string? FileId { get; init; }

    /// <summary>Why it failed (an error code and its message), when it did.</summary>
    [JsonPropertyName("error")] public string? Error { get; init; }

    [JsonPropertyName("message")] public string? Message { get; init; }
}

/// <summary>The 202 of a part that left the session unfinished: the seed's fields.</summary>
public sealed record UploadProgressBody(
    [property: JsonPropertyName("upload_session_id")] string UploadSessionId,
    [property: JsonPropertyName("bytes_uploaded")] long BytesUploaded,
    [property: JsonPropertyName("bytes_total")] long BytesTotal,
    [property: JsonPropertyName("percent_complete")] int PercentComplete,
    [property: JsonPropertyName("expires_at")] DateTimeOffset ExpiresAt);

[JsonSerializable(typeof(UploadSessionBody))]
[JsonSerializable(typeof(UploadProgressBody))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class UploadSessionJson : JsonSerializerContext;
