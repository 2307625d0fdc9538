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

    /// <summary>`ingest.otlp_endpoint`: where the ingest spans are exported by OTLP ("http://collector:4317"); null:
    /// OTEL_EXPORTER_OTLP_ENDPOINT when set, else no export.</summary>
    public string? OtlpEndpoint { get; init; }
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
