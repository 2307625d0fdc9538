using YamlDotNet.RepresentationModel;

namespace LoadPipe.Hosting.Configuration;

/// <summary>The ingest API's keys of the `server:` section: `storage_elements` and `ingest`.</summary>
public static partial class ConfigReader
{
    public static readonly IReadOnlyList<string> StorageElementModes = ["edit", "rw", "ro", "ar"];
    public static readonly IReadOnlyList<string> StorageSelections = ["least_used", "round_robin", "random"];

    private static readonly string[] IngestKeys =
    [
        "max_file_size", "mime_type_validation", "allowed_mime_types", "storage_selection", "preferred_region", "health_check_interval",
        "circuit_breaker_enabled", "circuit_breaker_failure_threshold", "circuit_breaker_success_threshold", "circuit_breaker_timeout",
        "saga_retry_max_attempts", "webhook_url", "audit_log", "max_batch_files", "max_batch_size",
        "resumable_uploads", "upload_session_ttl",
        "clamav", "virus_scan_enabled",
        "compression_enabled", "compression_min_size", "compression_algorithm",
        "redis_url", "discovery_channel", "discovery_fallback_file",
        "otlp_endpoint", "opentelemetry_enabled", "prometheus_metrics_enabled", "publish_channel",
        "chunk_size", "upload_session_cleanup_interval", "saga_enabled", "saga_timeout",
    ];
    public static readonly IReadOnlyList<string> CompressionAlgorithms = ["brotli", "gzip"];

    private static string Url(YamlNode node, string file, string where)
    {
        var value = Scalar(node, file, where);
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? value
            : throw Error(file, node, $"{where}: '{Core.Locations.Location.RedactUrls(value)}' is not an http(s) URL");
    }

    private static string OneOf(YamlNode node, string file, string where, IReadOnlyList<string> choices)
    {
        var value = Scalar(node, file, where);
        return choices.Contains(value) ? value : throw Error(file, node, $"{where}: '{value}' is not one of {string.Join(", ", choices)}");
    }

    private static IReadOnlyList<StorageElementConfig> StorageElements(YamlNode node, string file)
    {
        if (node is not YamlSequenceNode list) throw Error(file, node, "server.storage_elements: expected a list of elements ({ id, location, mode, capacity, region })");
        var elements = new List<StorageElementConfig>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var at = $"server.storage_elements[{i}]";
            var map = Map(list.Children[i], file, at);
            string? id = null, location = null, mode = null, region = null;
            long? capacity = null;
            foreach (var (keyNode, value) in map.Children)
            {
                switch (Key(keyNode, file))
                {
                    case "id": id = Scalar(value, file, at + ".id"); break;
                    case "location": location = Scalar(value, file, at + ".location"); break;
                    case "mode": mode = Scalar(value, file, at + ".mode"); break;
                    case "capacity": capacity = Size(value, file, at + ".capacity"); break;
                    case "region": region = Scalar(value, file, at + ".region"); break;
                    case var k: throw Error(file, keyNode, $"{at}: unknown key '{k}' (known: id, location, mode, capacity, region)");
                }
            }
            if (string.IsNullOrWhiteSpace(id)) throw Error(file, map, $"{at}: 'id' is missing");
            if (!ids.Add(id)) throw Error(file, map, $"{at}: the id '{id}' is used twice");
            if (string.IsNullOrWhiteSpace(location)) throw Error(file, map, $"{at}: 'location' is missing");
            mode ??= "rw";
            if (!StorageElementModes.Contains(mode)) throw Error(file, map, $"{at}.mode: '{mode}' is not a mode (edit, rw, ro, ar)");
            elements.Add(new StorageElementConfig { Id = id, Location = location, Mode = mode, Capacity = capacity, Region = region });
        }
        return elements;
    }

    private static IngestConfig Ingest(IngestConfig s, YamlMappingNode node, string file)
    {
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Key(keyNode, file);
            var at = $"server.ingest.{key}";
            s = key switch
            {
                "max_file_size" => s with { MaxFileSize = Size(value, file, at) },
                "mime_type_validation" => s with { MimeTypeValidation = Bool(value, file, at) },
                "allowed_mime_types" => s with { AllowedMimeTypes = List(value, file, at) },
                "storage_selection" => s with { StorageSelection = OneOf(value, file, at, StorageSelections) },
                "preferred_region" => s with { PreferredRegion = Scalar(value, file, at) },
                "health_check_interval" => s with { HealthCheckInterval = Duration(value, file, at) },
                "circuit_breaker_enabled" => s with { CircuitBreakerEnabled = Bool(value, file, at) },
                "circuit_breaker_failure_threshold" => s with { CircuitBreakerFailureThreshold = Int(value, file, at, 2, 1000) },
                "circuit_breaker_success_threshold" => s with { CircuitBreakerSuccessThreshold = Int(value, file, at, 1, 1000) },
                "circuit_breaker_timeout" => s with { CircuitBreakerTimeout = Duration(value, file, at) },
                "saga_retry_max_attempts" => s with { SagaRetryMaxAttempts = Int(value, file, at, 1, 100) },
                "webhook_url" => s with { WebhookUrl = Url(value, file, at) },
                "audit_log" => s with { AuditLog = Scalar(value, file, at) },
                "max_batch_files" => s with { MaxBatchFiles = Int(value, file, at, 1, 10_000) },
                "max_batch_size" => s with { MaxBatchSize = Size(value, file, at) },
                "resumable_uploads" => s with { ResumableUploads = Bool(value, file, at) },
                "upload_session_ttl" => s with { UploadSessionTtl = Duration(value, file, at) },
                "clamav" => s with { ClamAv = ClamAv(Map(value, file, at), file) },
                "virus_scan_enabled" => s with { VirusScanEnabled = Bool(value, file, at) },
                "compression_enabled" => s with { CompressionEnabled = Bool(value, file, at) },
                "compression_min_size" => s with { CompressionMinSize = Size(value, file, at) },
                "compression_algorithm" => s with { CompressionAlgorithm = OneOf(value, file, at, CompressionAlgorithms) },
                "redis_url" => s with { RedisUrl = RedisUrl(value, file, at) },
                "discovery_channel" => s with { DiscoveryChannel = Scalar(value, file, at) },
                "discovery_fallback_file" => s with { DiscoveryFallbackFile = Scalar(value, file, at) },
                "otlp_endpoint" => s with { OtlpEndpoint = Url(value, file, at) },
                "opentelemetry_enabled" => s with { OpenTelemetryEnabled = Bool(value, file, at) },
                "prometheus_metrics_enabled" => s with { PrometheusMetricsEnabled = Bool(value, file, at) },
                "publish_channel" => s with { PublishChannel = Scalar(value, file, at) },
                "chunk_size" => s with { ChunkSize = Size(value, file, at) },
                "upload_session_cleanup_interval" => s with { UploadSessionCleanupInterval = Duration(value, file, at) },
                "saga_enabled" => s with { SagaEnabled = Bool(value, file, at) },
                "saga_timeout" => s with { SagaTimeout = Duration(value, file, at) },
                _ => throw Error(file, keyNode, $"server.ingest: unknown key '{key}' (known: {string.Join(", ", IngestKeys)})"),
            };
        }
        return s;
    }

    private static ClamAvConfig ClamAv(YamlMappingNode node, string file)
    {
        var clamav = new ClamAvConfig();
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Key(keyNode, file);
            var at = $"server.ingest.clamav.{key}";
            clamav = key switch
            {
                "host" => clamav with { Host = Scalar(value, file, at) },
                "port" => clamav with { Port = Int(value, file, at, 1, 65535) },
                "timeout" => clamav with { Timeout = Duration(value, file, at) },
                "fail_open" => clamav with { FailOpen = Bool(value, file, at) },
                _ => throw Error(file, keyNode, $"server.ingest.clamav: unknown key '{key}' (known: host, port, timeout, fail_open)"),
            };
        }
        return clamav;
    }

    private static string RedisUrl(YamlNode node, string file, string where)
    {
        var value = Scalar(node, file, where);
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == "redis" && uri.Host.Length > 0
            ? value
            : throw Error(file, node, $"{where}: '{Core.Locations.Location.RedactUrls(value)}' is not a redis://HOST[:PORT][/DB] URL");
    }
}
