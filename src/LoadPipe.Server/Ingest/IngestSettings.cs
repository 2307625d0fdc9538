using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Server.Ingest;

/// <summary>The ingest API's built-in defaults, each stated once (docs/ingest.md repeats them); the seed's own.</summary>
public static class IngestDefaults
{
    /// <summary>The largest file one upload may carry: 1 GiB (the seed's MAX_FILE_SIZE_MB=1024).</summary>
    public const long MaxFileSize = 1L << 30;

    /// <summary>The seed's ALLOWED_MIME_TYPES.</summary>
    public static readonly IReadOnlyList<string> AllowedMimeTypes = ["application/pdf", "application/msword", "image/*"];

    public const string StorageSelection = "least_used";

    /// <summary>How often each element is checked: 30 s (STORAGE_HEALTH_CHECK_INTERVAL_SECONDS).</summary>
    public static readonly TimeSpan HealthCheckInterval = TimeSpan.FromSeconds(30);

    /// <summary>Failed calls in a row that open an element's breaker: 5.</summary>
    public const int CircuitBreakerFailureThreshold = 5;

    /// <summary>Passed health checks in a row that re-admit an element that failed: 2.</summary>
    public const int CircuitBreakerSuccessThreshold = 2;

    /// <summary>How long an open breaker stays open: 60 s.</summary>
    public static readonly TimeSpan CircuitBreakerTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Attempts of each saga step: 3 (SAGA_RETRY_MAX_ATTEMPTS).</summary>
    public const int SagaRetryMaxAttempts = 3;

    /// <summary>Files one batch may hold: 100 (MAX_BATCH_FILES).</summary>
    public const int MaxBatchFiles = 100;

    /// <summary>Bytes one batch may hold: 1 GiB (MAX_BATCH_SIZE_MB=1024).</summary>
    public const long MaxBatchSize = 1L << 30;

    /// <summary>How long an upload session may stay idle before the sweeper removes it: 2 h (UPLOAD_SESSION_TTL_HOURS=2).</summary>
    public static readonly TimeSpan UploadSessionTtl = TimeSpan.FromHours(2);

    /// <summary>The id of the one element made from `uploads.destination` when no `storage_elements` are configured.</summary>
    public const string DefaultElementId = "default";

    /// <summary>clamd's usual TCP address, used when VIRUS_SCAN_ENABLED=true and no `clamav` section says otherwise.</summary>
    public const string ClamAvHost = "127.0.0.1";
    public const int ClamAvPort = 3310;

    /// <summary>The longest wait for clamd (connect, take a chunk, give its verdict): 30 s.</summary>
    public static readonly TimeSpan ClamAvTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Files of compressible types are compressed from 10 MiB (COMPRESSION_MIN_SIZE_MB=10).</summary>
    public const long CompressionMinSize = 10L << 20;

    /// <summary>brotli (COMPRESSION_ALGORITHM).</summary>
    public const string CompressionAlgorithm = "brotli";

    /// <summary>The seed's SERVICE_DISCOVERY_CHANNEL.</summary>
    public const string DiscoveryChannel = "artstore:storage-elements";

    /// <summary>Where stored files are announced: beside the discovery channel, not on it, so that its subscribers
    /// read element lists only.</summary>
    public const string PublishChannel = "artstore:files";

    /// <summary>The longest a saga may run before its steps are undone: 300 s (SAGA_TIMEOUT_SECONDS).</summary>
    public static readonly TimeSpan SagaTimeout = TimeSpan.FromSeconds(300);

    /// <summary>The bounds of `chunk_size`: every write of an upload is held in memory once, so neither tiny writes nor
    /// huge buffers.</summary>
    public const long MinChunkSize = 64 << 10;
    public const long MaxChunkSize = 1L << 30;

    /// <summary>The fallback element list, relative to where `lp serve` runs.</summary>
    public const string DiscoveryFallbackFile = "storage-elements.json";
}

/// <summary>What the ingest API runs with: `server.storage_elements` and `server.ingest` over the defaults, checked.</summary>
public sealed record IngestSettings
{
    public required IReadOnlyList<StorageElementConfig> StorageElements { get; init; }
    public long MaxFileSize { get; init; } = IngestDefaults.MaxFileSize;
    public bool MimeTypeValidation { get; init; } = true;
    public IReadOnlyList<string> AllowedMimeTypes { get; init; } = IngestDefaults.AllowedMimeTypes;
    public string StorageSelection { get; init; } = IngestDefaults.StorageSelection;
    public string? PreferredRegion { get; init; }
    public TimeSpan HealthCheckInterval { get; init; } = IngestDefaults.HealthCheckInterval;
    public bool CircuitBreakerEnabled { get; init; } = true;
    public int CircuitBreakerFailureThreshold { get; init; } = IngestDefaults.CircuitBreakerFailureThreshold;
    public int CircuitBreakerSuccessThreshold { get; init; } = IngestDefaults.CircuitBreakerSuccessThreshold;
    public TimeSpan CircuitBreakerTimeout { get; init; } = IngestDefaults.CircuitBreakerTimeout;
    public int SagaRetryMaxAttempts { get; init; } = IngestDefaults.SagaRetryMaxAttempts;
    public int MaxBatchFiles { get; init; } = IngestDefaults.MaxBatchFiles;
    public long MaxBatchSize { get; init; } = IngestDefaults.MaxBatchSize;
    public Uri? WebhookUrl { get; init; }
    public string? AuditLog { get; init; }
    public bool ResumableUploads { get; init; } = true;
    public TimeSpan UploadSessionTtl { get; init; } = IngestDefaults.UploadSessionTtl;

    /// <summary>Where clamd scans each file; null: no virus scan.</summary>
    public Validation.ClamAvSettings? ClamAv { get; init; }

    public bool CompressionEnabled { get; init; } = true;
    public long CompressionMinSize { get; init; } = IngestDefaults.CompressionMinSize;
    public string CompressionAlgorithm { get; init; } = IngestDefaults.CompressionAlgorithm;

    /// <summary>Storage element discovery over Redis pub/sub; null: the configured list only.</summary>
    public global::LoadPipe.Server.Ingest.StorageElements.DiscoverySettings? Discovery { get; init; }

    /// <summary>Where the ingest spans go by OTLP; null: no export (see <see cref="IngestConfig.OtlpEndpoint"/>).</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>false: `/metrics` is not served (the seed's PROMETHEUS_METRICS_ENABLED).</summary>
    public bool PrometheusMetricsEnabled { get; init; } = true;

    /// <summary>The Redis channel the upload saga's `publish` step announces stored files on; used with <see cref="Discovery"/>.</summary>
    public string PublishChannel { get; init; } = IngestDefaults.PublishChannel;

    /// <summary>Bytes per write of an upload to its element, and the chunk of a transfer between elements; null: the
    /// engine's (see <see cref="IngestConfig.ChunkSize"/>).</summary>
    public int? ChunkSize { get; init; }

    /// <summary>How often the sweeper runs; null: its own interval (see <see cref="IngestConfig.UploadSessionCleanupInterval"/>).</summary>
    public TimeSpan? UploadSessionCleanupInterval { get; init; }

    /// <summary>false: the steps run without the saga's retries, audit record and metrics (see <see cref="IngestConfig.SagaEnabled"/>).</summary>
    public bool SagaEnabled { get; init; } = true;

    /// <summary>The longest a saga may run before the step under way is cancelled and the steps done are undone.</summary>
    public TimeSpan SagaTimeout { get; init; } = IngestDefaults.SagaTimeout;

    /// <summary>The settings of <paramref name="config"/>; without storage elements, one `edit` element named
    /// <see cref="IngestDefaults.DefaultElementId"/> at <paramref name="destination"/>.</summary>
    public static IngestSettings From(IngestConfig config, string destination)
    {
        var elements = config.StorageElements is { Count: > 0 } configured
            ? configured
            : [new StorageElementConfig { Id = IngestDefaults.DefaultElementId, Location = destination, Mode = "edit" }];
        if (config.MaxFileSize is <= 0)
            throw new LoadPipeException(ErrorKind.Usage, "server.ingest.max_file_size: give a size above 0");
        return new IngestSettings
        {
            StorageElements = elements,
            MaxFileSize = config.MaxFileSize ?? IngestDefaults.MaxFileSize,
            MimeTypeValidation = config.MimeTypeValidation ?? true,
            AllowedMimeTypes = config.AllowedMimeTypes ?? IngestDefaults.AllowedMimeTypes,
            StorageSelection = config.StorageSelection ?? IngestDefaults.StorageSelection,
            PreferredRegion = config.PreferredRegion,
            HealthCheckInterval = config.HealthCheckInterval ?? IngestDefaults.HealthCheckInterval,
            CircuitBreakerEnabled = config.CircuitBreakerEnabled ?? true,
            CircuitBreakerFailureThreshold = config.CircuitBreakerFailureThreshold ?? IngestDefaults.CircuitBreakerFailureThreshold,
            CircuitBreakerSuccessThreshold = config.CircuitBreakerSuccessThreshold ?? IngestDefaults.CircuitBreakerSuccessThreshold,
            CircuitBreakerTimeout = config.CircuitBreakerTimeout ?? IngestDefaults.CircuitBreakerTimeout,
            SagaRetryMaxAttempts = config.SagaRetryMaxAttempts ?? IngestDefaults.SagaRetryMaxAttempts,
            MaxBatchFiles = config.MaxBatchFiles ?? IngestDefaults.MaxBatchFiles,
            MaxBatchSize = config.MaxBatchSize ?? IngestDefaults.MaxBatchSize,
            WebhookUrl = config.WebhookUrl is { } url ? new Uri(url) : null,
            AuditLog = config.AuditLog,
            ResumableUploads = config.ResumableUploads ?? true,
            UploadSessionTtl = config.UploadSessionTtl is { } ttl && ttl > TimeSpan.Zero ? ttl
                : config.UploadSessionTtl is null ? IngestDefaults.UploadSessionTtl
                : throw new LoadPipeException(ErrorKind.Usage, "server.ingest.upload_session_ttl: give a duration above 0"),
            ClamAv = (config.VirusScanEnabled ?? config.ClamAv is not null)
                ? new Validation.ClamAvSettings(
                    config.ClamAv?.Host ?? IngestDefaults.ClamAvHost, config.ClamAv?.Port ?? IngestDefaults.ClamAvPort,
                    config.ClamAv?.Timeout ?? IngestDefaults.ClamAvTimeout, config.ClamAv?.FailOpen ?? false)
                : null,
            CompressionEnabled = config.CompressionEnabled ?? true,
            CompressionMinSize = config.CompressionMinSize ?? IngestDefaults.CompressionMinSize,
            CompressionAlgorithm = config.CompressionAlgorithm ?? IngestDefaults.CompressionAlgorithm,
            Discovery = config.RedisUrl is { } redis
                ? new global::LoadPipe.Server.Ingest.StorageElements.DiscoverySettings(global::LoadPipe.Server.Ingest.StorageElements.RedisAddress.Parse(redis),
                    config.DiscoveryChannel ?? IngestDefaults.DiscoveryChannel, config.DiscoveryFallbackFile ?? IngestDefaults.DiscoveryFallbackFile)
                : null,
            // OPENTELEMETRY_ENABLED=false wins over an endpoint: nothing leaves the process.
            OtlpEndpoint = config.OtlpEndpoint is { } otlp && config.OpenTelemetryEnabled != false ? new Uri(otlp) : null,
            PrometheusMetricsEnabled = config.PrometheusMetricsEnabled ?? true,
            PublishChannel = config.PublishChannel ?? IngestDefaults.PublishChannel,
            ChunkSize = config.ChunkSize switch
            {
                null => null,
                >= IngestDefaults.MinChunkSize and <= IngestDefaults.MaxChunkSize and var chunk => (int)chunk,
                _ => throw new LoadPipeException(ErrorKind.Usage, "server.ingest.chunk_size: give a size from 64K to 1G"),
            },
            UploadSessionCleanupInterval = Positive(config.UploadSessionCleanupInterval, "upload_session_cleanup_interval"),
            SagaEnabled = config.SagaEnabled ?? true,
            SagaTimeout = Positive(config.SagaTimeout, "saga_timeout") ?? IngestDefaults.SagaTimeout,
        };
    }

    private static TimeSpan? Positive(TimeSpan? duration, string key) => duration is { } d && d <= TimeSpan.Zero
        ? throw new LoadPipeException(ErrorKind.Usage, $"server.ingest.{key}: give a duration above 0")
        : duration;
}
