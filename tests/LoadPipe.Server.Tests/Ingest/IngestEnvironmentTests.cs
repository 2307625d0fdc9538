using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The seed's environment variables over the config file's `server.ingest`.</summary>
public sealed class IngestEnvironmentTests
{
    internal static ServerSettings Settings(IngestConfig ingest, Dictionary<string, string> environment) =>
        ServerSettings.From(new ServerConfig
        {
            Auth = new ServerAuthConfig { None = true },
            Uploads = new ServerUploadsConfig { Destination = "/tmp/lp-uploads/" },
            Ingest = ingest,
        }, null, name => environment.GetValueOrDefault(name));

    [Fact]
    public void From_SeedVariables_WinOverTheFile()
    {
        var settings = Settings(new IngestConfig { MaxFileSize = 5 << 20, StorageSelection = "random", AllowedMimeTypes = ["image/*"] }, new()
        {
            ["MAX_FILE_SIZE_MB"] = "1024",
            ["ALLOWED_MIME_TYPES"] = "application/pdf,application/msword, image/*",
            ["STORAGE_SELECTION_STRATEGY"] = "round_robin",
            ["STORAGE_HEALTH_CHECK_INTERVAL_SECONDS"] = "15",
            ["CIRCUIT_BREAKER_FAILURE_THRESHOLD"] = "7",
            ["CIRCUIT_BREAKER_TIMEOUT_SECONDS"] = "90",
            ["MIME_TYPE_VALIDATION"] = "false",
            ["SAGA_RETRY_MAX_ATTEMPTS"] = "5",
            ["MAX_BATCH_FILES"] = "50",
            ["MAX_BATCH_SIZE_MB"] = "512",
        }).Ingest!;
        Assert.Equal(1L << 30, settings.MaxFileSize);
        Assert.Equal(["application/pdf", "application/msword", "image/*"], settings.AllowedMimeTypes);
        Assert.Equal("round_robin", settings.StorageSelection);
        Assert.Equal(TimeSpan.FromSeconds(15), settings.HealthCheckInterval);
        Assert.Equal(7, settings.CircuitBreakerFailureThreshold);
        Assert.Equal(TimeSpan.FromSeconds(90), settings.CircuitBreakerTimeout);
        Assert.False(settings.MimeTypeValidation);
        Assert.Equal(5, settings.SagaRetryMaxAttempts);
        Assert.Equal(50, settings.MaxBatchFiles);
        Assert.Equal(512L << 20, settings.MaxBatchSize);
    }

    [Fact]
    public void From_SeedScanCompressionAndDiscoveryVariables_WinOverTheFile()
    {
        var settings = Settings(new IngestConfig { CompressionAlgorithm = "brotli", ClamAv = new ClamAvConfig { Port = 3311 } }, new()
        {
            ["VIRUS_SCAN_ENABLED"] = "false",
            ["COMPRESSION_ENABLED"] = "true",
            ["COMPRESSION_MIN_SIZE_MB"] = "25",
            ["COMPRESSION_ALGORITHM"] = "gzip",
            ["REDIS_URL"] = "redis://localhost:6379/0",
            ["SERVICE_DISCOVERY_CHANNEL"] = "artstore:storage-elements",
            ["SERVICE_DISCOVERY_FALLBACK_CONFIG"] = "/config/storage-elements.json",
        }).Ingest!;
        Assert.Null(settings.ClamAv);
        Assert.True(settings.CompressionEnabled);
        Assert.Equal(25L << 20, settings.CompressionMinSize);
        Assert.Equal("gzip", settings.CompressionAlgorithm);
        Assert.Equal(new LoadPipe.Server.Ingest.StorageElements.RedisAddress("localhost", 6379, null, null), settings.Discovery!.Redis);
        Assert.Equal("artstore:storage-elements", settings.Discovery.Channel);
        Assert.Equal("/config/storage-elements.json", settings.Discovery.FallbackFile);

        // VIRUS_SCAN_ENABLED=true without a clamav section: clamd at its usual address; defaults otherwise.
        var scan = Settings(new IngestConfig(), new() { ["VIRUS_SCAN_ENABLED"] = "true" }).Ingest!;
        Assert.Equal(new LoadPipe.Server.Ingest.Validation.ClamAvSettings("127.0.0.1", 3310, TimeSpan.FromSeconds(30), false), scan.ClamAv);
        Assert.Equal(10L << 20, scan.CompressionMinSize);
        Assert.Equal("brotli", scan.CompressionAlgorithm);
        Assert.Null(scan.Discovery);

        var bad = Assert.Throws<LoadPipeException>(() => Settings(new IngestConfig(), new() { ["COMPRESSION_ALGORITHM"] = "lzma" }));
        Assert.Contains("COMPRESSION_ALGORITHM", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_SeedMonitoringVariables_WinOverTheFile()
    {
        var file = new IngestConfig { OtlpEndpoint = "http://collector:4317", OpenTelemetryEnabled = true, PrometheusMetricsEnabled = true };
        var off = Settings(file, new() { ["OPENTELEMETRY_ENABLED"] = "false", ["PROMETHEUS_METRICS_ENABLED"] = "false" }).Ingest!;
        Assert.Null(off.OtlpEndpoint);
        Assert.False(off.PrometheusMetricsEnabled);

        var on = Settings(new IngestConfig { OpenTelemetryEnabled = false }, new()
        {
            ["OPENTELEMETRY_ENABLED"] = "true",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318",
        }).Ingest!;
        Assert.Equal(new Uri("http://127.0.0.1:4318"), on.OtlpEndpoint);
        Assert.True(on.PrometheusMetricsEnabled);

        // Neither given: metrics served, spans exported exactly when an endpoint is named.
        var defaults = Settings(new IngestConfig(), []).Ingest!;
        Assert.Null(defaults.OtlpEndpoint);
        Assert.True(defaults.PrometheusMetricsEnabled);
        Assert.Contains("OPENTELEMETRY_ENABLED", IngestEnvironment.Names);
        Assert.Contains("PROMETHEUS_METRICS_ENABLED", IngestEnvironment.Names);
    }

    [Fact]
    public async Task Serve_PrometheusMetricsDisabled_AnswersNoMetrics()
    {
        await using var server = await Support.RunningServer.StartAsync(configure: s => s with
        {
            Ingest = IngestSettings.From(new IngestConfig { PrometheusMetricsEnabled = false }, s.Destination),
        });
        using var metrics = await server.Client.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, metrics.StatusCode);
        using var live = await server.Client.GetAsync("/health/live");
        Assert.Equal(System.Net.HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public void From_NoVariables_KeepsTheFilesValues()
    {
        var settings = Settings(new IngestConfig { MaxFileSize = 5 << 20, StorageSelection = "random" }, []).Ingest!;
        Assert.Equal(5 << 20, settings.MaxFileSize);
        Assert.Equal("random", settings.StorageSelection);
    }

    [Theory]
    [InlineData("MAX_FILE_SIZE_MB", "lots")]
    [InlineData("STORAGE_SELECTION_STRATEGY", "fastest")]
    [InlineData("CIRCUIT_BREAKER_ENABLED", "maybe")]
    [InlineData("OPENTELEMETRY_ENABLED", "sometimes")]
    [InlineData("PROMETHEUS_METRICS_ENABLED", "2")]
    [InlineData("CHUNK_SIZE_MB", "0")]
    [InlineData("CHUNK_SIZE_MB", "2048")]
    [InlineData("UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS", "0")]
    [InlineData("SAGA_ENABLED", "perhaps")]
    [InlineData("SAGA_TIMEOUT_SECONDS", "-1")]
    public void From_BadVariable_IsAUsageErrorNamingIt(string name, string value)
    {
        var e = Assert.Throws<LoadPipeException>(() => Settings(new IngestConfig(), new() { [name] = value }));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.StartsWith(name + ": ", e.Message, StringComparison.Ordinal);
    }
}
