namespace LoadPipe.Hosting.Configuration;

/// <summary>
/// The ingest API's part of the `server:` section (docs/ingest.md names every key): `server.storage_elements` and
/// `server.ingest`. Null means "not given here": the environment (the seed's names) and the built-in defaults fill in.
/// </summary>
public sealed record IngestConfig
{
    /// <summary>`server.storage_elements`: where uploaded files go; null: one `edit` element at `uploads.destination`.</summary>
    public IReadOnlyList<StorageElementConfig>? StorageElements { get; init; }

    /// <summary>`ingest.max_file_size`: the largest file one upload may carry, in bytes.</summary>
    public long? MaxFileSize { get; init; }

    /// <summary>`ingest.mime_type_validation`: check each file's type, found from its first bytes, against the list.</summary>
    public bool? MimeTypeValidation { get; init; }

    /// <summary>`ingest.allowed_mime_types`: the types accepted ("image/*" takes every image type).</summary>
    public IReadOnlyList<string>? AllowedMimeTypes { get; init; }

    /// <summary>`ingest.storage_selection`: least_used, round_robin or random.</summary>
    public string? StorageSelection { get; init; }

    /// <summary>`ingest.preferred_region`: elements of this region are chosen first when one of them can take the file.</summary>
    public string? PreferredRegion { get; init; }

    /// <summary>`ingest.health_check_interval`: how often each element is checked.</summary>
    public TimeSpan? HealthCheckInterval { get; init; }

    /// <summary>`ingest.circuit_breaker_enabled`: guard each element with a circuit breaker.</summary>
    public bool? CircuitBreakerEnabled { get; init; }

    /// <summary>`ingest.circuit_breaker_failure_threshold`: failed calls in a row that open an element's breaker.</summary>
    public int? CircuitBreakerFailureThreshold { get; init; }

    /// <summary>`ingest.circuit_breaker_success_threshold`: passed health checks in a row that re-admit a failed element.</summary>
    public int? CircuitBreakerSuccessThreshold { get; init; }

    /// <summary>`ingest.circuit_breaker_timeout`: how long an open breaker stays open before a trial call.</summary>
    public TimeSpan? CircuitBreakerTimeout { get; init; }

    /// <summary>`ingest.saga_retry_max_attempts`: attempts of each saga step before its saga is undone.</summary>
    public int? SagaRetryMaxAttempts { get; init; }

    /// <summary>`ingest.webhook_url`: where the upload saga's last step posts each new file; null: no webhook.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>`ingest.max_batch_files`: files one batch upload may hold.</summary>
    public int? MaxBatchFiles { get; init; }

    /// <summary>`ingest.max_batch_size`: bytes one batch upload may hold.</summary>
    public long? MaxBatchSize { get; init; }

    /// <summary>`ingest.audit_log`: the file the audit log's JSON lines are appended to; null: no audit log.</summary>
    public string? AuditLog { get; init; }

    /// <summary>`ingest.resumable_uploads`: take uploads in parts under `X-Upload-Session-ID`.</summary>
    public bool? ResumableUploads { get; init; }

    /// <summary>`ingest.upload_session_ttl`: how long an upload session may stay idle before the sweeper removes it.</summary>
    public TimeSpan? UploadSessionTtl { get; init; }
    /// <summary>`ingest.clamav`: scan each file with clamd (INSTREAM) while it streams; null: no scan unless
    /// <see cref="VirusScanEnabled"/> asks for one at clamd's default address.</summary>
    public ClamAvConfig? ClamAv { get; init; }

    /// <summary>`ingest.virus_scan_enabled` (the seed's VIRUS_SCAN_ENABLED): false turns the scan off even with a
    /// `clamav` section; true turns it on (at 127.0.0.1:3310 without one). Null: on exactly when `clamav` is given.</summary>
    public bool? VirusScanEnabled { get; init; }

    /// <summary>`ingest.compression_enabled`: compress files of compressible types at or over the minimum size.</summary>
    public bool? CompressionEnabled { get; init; }

    /// <summary>`ingest.compression_min_size`: the size, in bytes, from which a file is compressed.</summary>
    public long? CompressionMinSize { get; init; }

    /// <summary>`ingest.compression_algorithm`: brotli or gzip.</summary>
    public string? CompressionAlgorithm { get; init; }

    /// <summary>`ingest.redis_url`: redis://[:PASSWORD@]HOST[:PORT][/DB]; storage elements are discovered on its
    /// pub/sub channel. Null: no discovery, the configured list only.</summary>
    public string? RedisUrl { get; init; }

    /// <summary>`ingest.discovery_channel`: the pub/sub channel whose messages are the element list.</summary>
    public string? DiscoveryChannel { get; init; }

    /// <summary>`ingest.discovery_fallback_file`: the JSON element list used while Redis cannot be reached.</summary>
    public string? DiscoveryFallbackFile { get; init; }

    /// <summary>`ingest.otlp_endpoint`: where the ingest spans are exported by OTLP ("http://collector:4317"); null:
    /// OTEL_EXPORTER_OTLP_ENDPOINT when set, else no export.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>`ingest.opentelemetry_enabled` (the seed's OPENTELEMETRY_ENABLED): false exports no spans even with an
    /// OTLP endpoint. Null: true.</summary>
    public bool? OpenTelemetryEnabled { get; init; }

    /// <summary>`ingest.prometheus_metrics_enabled` (the seed's PROMETHEUS_METRICS_ENABLED): false serves no `/metrics`.
    /// Null: true.</summary>
    public bool? PrometheusMetricsEnabled { get; init; }

    /// <summary>`ingest.chunk_size` (the seed's CHUNK_SIZE_MB): the bytes of each write of an upload to its element, and the
    /// chunk of a transfer between elements (the engine's unit of resume). Null: the engine's chunk size (8 MiB).</summary>
    public long? ChunkSize { get; init; }

    /// <summary>`ingest.upload_session_cleanup_interval` (the seed's UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS): how often the
    /// sweeper removes expired upload sessions (and tus uploads) and what crashed uploads left at the elements. Null:
    /// half the tus expiration, between 1 s and a minute.</summary>
    public TimeSpan? UploadSessionCleanupInterval { get; init; }

    /// <summary>`ingest.saga_enabled` (the seed's SAGA_ENABLED): false runs the uploads', deletes' and transfers' steps
    /// without the saga's bookkeeping (no retries, no audit record, no saga metrics); a failed step still undoes the steps
    /// before it. Null: true.</summary>
    public bool? SagaEnabled { get; init; }

    /// <summary>`ingest.saga_timeout` (the seed's SAGA_TIMEOUT_SECONDS): the longest a saga may run; past it, the step under
    /// way is cancelled and the steps done are undone. Null: 300 s.</summary>
    public TimeSpan? SagaTimeout { get; init; }

    /// <summary>`ingest.publish_channel`: the Redis pub/sub channel the upload saga's `publish` step announces each stored
    /// file on (and its removal when the saga is undone). Null: "artstore:files"; used only with <see cref="RedisUrl"/>.</summary>
    public string? PublishChannel { get; init; }
}

/// <summary>`server.ingest.clamav`: where clamd listens (TCP), how long to wait for it, and what to do when it cannot be reached.</summary>
public sealed record ClamAvConfig
{
    public string? Host { get; init; }
    public int? Port { get; init; }

    /// <summary>The longest wait for clamd: to connect, to take a chunk, to give its verdict.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>true: when clamd cannot be reached, files are stored unscanned (with a warning); default false (503).</summary>
    public bool? FailOpen { get; init; }
}

/// <summary>One storage element: a LoadPipe location with the seed's attributes. The same shape is read from the
/// config file, from discovery messages and from the fallback file.</summary>
public sealed record StorageElementConfig
{
    public required string Id { get; init; }

    /// <summary>Any LoadPipe location that is a folder: "/srv/se1/", "s3r:bucket/se2/".</summary>
    public required string Location { get; init; }

    /// <summary>edit, rw, ro or ar; uploads go only to edit and rw, deletes only from edit.</summary>
    public required string Mode { get; init; }

    /// <summary>Bytes the element may hold; null: unbounded.</summary>
    public long? Capacity { get; init; }

    public string? Region { get; init; }
}
