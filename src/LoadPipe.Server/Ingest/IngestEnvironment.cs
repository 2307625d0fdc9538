using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Server.Ingest;

/// <summary>
/// The seed's environment variables (its `.env`), read by `lp serve` over the config file's `server.ingest`, so that a
/// seed user's settings work as they are. A value that cannot be read is a usage error naming the variable.
/// </summary>
public static class IngestEnvironment
{
    /// <summary>The variables read: every one of the seed's "Environment Variables", and OpenTelemetry's endpoint.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "MAX_FILE_SIZE_MB", "MAX_BATCH_FILES", "MAX_BATCH_SIZE_MB", "CHUNK_SIZE_MB",
        "COMPRESSION_ENABLED", "COMPRESSION_MIN_SIZE_MB", "COMPRESSION_ALGORITHM",
        "STORAGE_SELECTION_STRATEGY", "STORAGE_HEALTH_CHECK_INTERVAL_SECONDS",
        "REDIS_URL", "SERVICE_DISCOVERY_CHANNEL", "SERVICE_DISCOVERY_FALLBACK_CONFIG",
        "RESUMABLE_UPLOADS_ENABLED", "UPLOAD_SESSION_TTL_HOURS", "UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS",
        "CIRCUIT_BREAKER_ENABLED", "CIRCUIT_BREAKER_FAILURE_THRESHOLD", "CIRCUIT_BREAKER_SUCCESS_THRESHOLD", "CIRCUIT_BREAKER_TIMEOUT_SECONDS",
        "SAGA_ENABLED", "SAGA_TIMEOUT_SECONDS", "SAGA_RETRY_MAX_ATTEMPTS",
        "VIRUS_SCAN_ENABLED", "MIME_TYPE_VALIDATION", "ALLOWED_MIME_TYPES",
        "OPENTELEMETRY_ENABLED", "PROMETHEUS_METRICS_ENABLED", OtlpEndpointVariable,
    ];

    public static IngestConfig Apply(IngestConfig config, Func<string, string?> get) => config with
    {
        MaxFileSize = Mebibytes(get, "MAX_FILE_SIZE_MB") ?? config.MaxFileSize,
        MaxBatchFiles = Int(get, "MAX_BATCH_FILES", 1, 10_000) ?? config.MaxBatchFiles,
        MaxBatchSize = Mebibytes(get, "MAX_BATCH_SIZE_MB") ?? config.MaxBatchSize,
        MimeTypeValidation = Bool(get, "MIME_TYPE_VALIDATION") ?? config.MimeTypeValidation,
        AllowedMimeTypes = Value(get, "ALLOWED_MIME_TYPES") is { } types
            ? [.. types.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : config.AllowedMimeTypes,
        StorageSelection = Value(get, "STORAGE_SELECTION_STRATEGY") is { } strategy
            ? ConfigReader.StorageSelections.Contains(strategy) ? strategy
                : throw new LoadPipeException(ErrorKind.Usage, $"STORAGE_SELECTION_STRATEGY: '{strategy}' is not one of {string.Join(", ", ConfigReader.StorageSelections)}")
            : config.StorageSelection,
        HealthCheckInterval = Seconds(get, "STORAGE_HEALTH_CHECK_INTERVAL_SECONDS") ?? config.HealthCheckInterval,
        CircuitBreakerEnabled = Bool(get, "CIRCUIT_BREAKER_ENABLED") ?? config.CircuitBreakerEnabled,
        CircuitBreakerFailureThreshold = Int(get, "CIRCUIT_BREAKER_FAILURE_THRESHOLD", 2, 1000) ?? config.CircuitBreakerFailureThreshold,
        CircuitBreakerSuccessThreshold = Int(get, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD", 1, 1000) ?? config.CircuitBreakerSuccessThreshold,
        CircuitBreakerTimeout = Seconds(get, "CIRCUIT_BREAKER_TIMEOUT_SECONDS") ?? config.CircuitBreakerTimeout,
        SagaRetryMaxAttempts = Int(get, "SAGA_RETRY_MAX_ATTEMPTS", 1, 100) ?? config.SagaRetryMaxAttempts,
        ResumableUploads = Bool(get, "RESUMABLE_UPLOADS_ENABLED") ?? config.ResumableUploads,
        UploadSessionTtl = Int(get, "UPLOAD_SESSION_TTL_HOURS", 1, 720) is { } hours ? TimeSpan.FromHours(hours) : config.UploadSessionTtl,
        VirusScanEnabled = Bool(get, "VIRUS_SCAN_ENABLED") ?? config.VirusScanEnabled,
        CompressionEnabled = Bool(get, "COMPRESSION_ENABLED") ?? config.CompressionEnabled,
        CompressionMinSize = Int(get, "COMPRESSION_MIN_SIZE_MB", 0, 10_000_000) is { } minMb ? (long)minMb << 20 : config.CompressionMinSize,
        CompressionAlgorithm = Value(get, "COMPRESSION_ALGORITHM")?.ToLowerInvariant() is { } algorithm
            ? ConfigReader.CompressionAlgorithms.Contains(algorithm) ? algorithm
                : throw new LoadPipeException(ErrorKind.Usage, $"COMPRESSION_ALGORITHM: '{algorithm}' is not one of {string.Join(", ", ConfigReader.CompressionAlgorithms)}")
            : config.CompressionAlgorithm,
        RedisUrl = Value(get, "REDIS_URL") ?? config.RedisUrl,
        DiscoveryChannel = Value(get, "SERVICE_DISCOVERY_CHANNEL") ?? config.DiscoveryChannel,
        DiscoveryFallbackFile = Value(get, "SERVICE_DISCOVERY_FALLBACK_CONFIG") ?? config.DiscoveryFallbackFile,
        // OpenTelemetry's own variable, not the seed's: the config key, when given, is the more specific choice.
        OtlpEndpoint = config.OtlpEndpoint ?? Url(get, OtlpEndpointVariable),
        OpenTelemetryEnabled = Bool(get, "OPENTELEMETRY_ENABLED") ?? config.OpenTelemetryEnabled,
        PrometheusMetricsEnabled = Bool(get, "PROMETHEUS_METRICS_ENABLED") ?? config.PrometheusMetricsEnabled,
        ChunkSize = Int(get, "CHUNK_SIZE_MB", 1, (int)(IngestDefaults.MaxChunkSize >> 20)) is { } chunkMb ? (long)chunkMb << 20 : config.ChunkSize,
        UploadSessionCleanupInterval = Int(get, "UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS", 1, 720) is { } every
            ? TimeSpan.FromHours(every) : config.UploadSessionCleanupInterval,
        SagaEnabled = Bool(get, "SAGA_ENABLED") ?? config.SagaEnabled,
        SagaTimeout = Seconds(get, "SAGA_TIMEOUT_SECONDS") ?? config.SagaTimeout,
    };

    /// <summary>The standard OpenTelemetry variable naming the OTLP collector, read when `ingest.otlp_endpoint` is not set.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    private static string? Url(Func<string, string?> get, string name) => Value(get, name) is { } text
        ? Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? text
            : throw new LoadPipeException(ErrorKind.Usage, $"{name}: '{text}' is not an http(s) URL")
        : null;

    private static string? Value(Func<string, string?> get, string name) => get(name) is { Length: > 0 } v ? v.Trim() : null;

    private static int? Int(Func<string, string?> get, string name, int min, int max) => Value(get, name) is { } text
        ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v
            : throw new LoadPipeException(ErrorKind.Usage, $"{name}: '{text}' must be a whole number from {min} to {max}")
        : null;

    private static long? Mebibytes(Func<string, string?> get, string name) => Int(get, name, 1, 10_000_000) is { } mb ? (long)mb << 20 : null;

    private static TimeSpan? Seconds(Func<string, string?> get, string name) => Int(get, name, 1, 86_400) is { } s ? TimeSpan.FromSeconds(s) : null;

    private static bool? Bool(Func<string, string?> get, string name) => Value(get, name)?.ToLowerInvariant() switch
    {
        null => null,
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        var v => throw new LoadPipeException(ErrorKind.Usage, $"{name}: '{v}' must be true or false"),
    };
}
