using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Hosting.Tests.Configuration;

public sealed class IngestConfigTests
{
    private static string Fails(string yaml)
    {
        var e = Assert.Throws<LoadPipeException>(() => ConfigReader.Parse(yaml, "/x/config.yaml"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        return e.Message;
    }

    [Fact]
    public void Parse_StorageElementsAndIngest_ReadsEveryKey()
    {
        var ingest = ConfigReader.Parse("""
            server:
              storage_elements:
                - { id: se1, location: /srv/se1/, mode: rw, capacity: 100G, region: eu }
                - { id: se2, location: "s3r:bucket/se2/", mode: edit, capacity: 1T }
                - { id: se3, location: /srv/se3/ }
              ingest:
                max_file_size: 512M
                mime_type_validation: false
                allowed_mime_types: [application/pdf, image/*]
                storage_selection: round_robin
                preferred_region: eu
                health_check_interval: 10s
                circuit_breaker_enabled: true
                circuit_breaker_failure_threshold: 3
                circuit_breaker_success_threshold: 4
                circuit_breaker_timeout: 2m
            """, "/x/config.yaml").Server.Ingest;
        Assert.Equal(new StorageElementConfig { Id = "se1", Location = "/srv/se1/", Mode = "rw", Capacity = 100L << 30, Region = "eu" }, ingest.StorageElements![0]);
        Assert.Equal(1L << 40, ingest.StorageElements[1].Capacity);
        Assert.Equal("rw", ingest.StorageElements[2].Mode);
        Assert.Equal(512L << 20, ingest.MaxFileSize);
        Assert.False(ingest.MimeTypeValidation);
        Assert.Equal(["application/pdf", "image/*"], ingest.AllowedMimeTypes);
        Assert.Equal("round_robin", ingest.StorageSelection);
        Assert.Equal("eu", ingest.PreferredRegion);
        Assert.Equal(TimeSpan.FromSeconds(10), ingest.HealthCheckInterval);
        Assert.Equal(3, ingest.CircuitBreakerFailureThreshold);
        Assert.Equal(4, ingest.CircuitBreakerSuccessThreshold);
        Assert.Equal(TimeSpan.FromMinutes(2), ingest.CircuitBreakerTimeout);
    }

    [Fact]
    public void Parse_VirusScanCompressionAndDiscovery_ReadsEveryKey()
    {
        var ingest = ConfigReader.Parse("""
            server:
              ingest:
                clamav: { host: 10.0.0.9, port: 3311, timeout: 5s, fail_open: true }
                virus_scan_enabled: true
                compression_enabled: false
                compression_min_size: 20M
                compression_algorithm: gzip
                redis_url: redis://cache:6380/0
                discovery_channel: my:elements
                discovery_fallback_file: /etc/lp/se.json
            """, "/x/config.yaml").Server.Ingest;
        Assert.Equal(new ClamAvConfig { Host = "10.0.0.9", Port = 3311, Timeout = TimeSpan.FromSeconds(5), FailOpen = true }, ingest.ClamAv);
        Assert.True(ingest.VirusScanEnabled);
        Assert.False(ingest.CompressionEnabled);
        Assert.Equal(20L << 20, ingest.CompressionMinSize);
        Assert.Equal("gzip", ingest.CompressionAlgorithm);
        Assert.Equal("redis://cache:6380/0", ingest.RedisUrl);
        Assert.Equal("my:elements", ingest.DiscoveryChannel);
        Assert.Equal("/etc/lp/se.json", ingest.DiscoveryFallbackFile);
    }

    [Fact]
    public void Parse_MonitoringAndPublishing_ReadsEveryKey()
    {
        var ingest = ConfigReader.Parse("""
            server:
              ingest:
                otlp_endpoint: http://collector:4317
                opentelemetry_enabled: false
                prometheus_metrics_enabled: false
                publish_channel: my:files
            """, "/x/config.yaml").Server.Ingest;
        Assert.Equal("http://collector:4317", ingest.OtlpEndpoint);
        Assert.False(ingest.OpenTelemetryEnabled);
        Assert.False(ingest.PrometheusMetricsEnabled);
        Assert.Equal("my:files", ingest.PublishChannel);
        Assert.Contains("server.ingest.opentelemetry_enabled", Fails("server:\n  ingest:\n    opentelemetry_enabled: often\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  ingest:\n    clamav: { port: 99999 }", "server.ingest.clamav.port: '99999' must be a whole number from 1 to 65535")]
    [InlineData("  ingest:\n    clamav: { socket: /run/clamd.ctl }", "server.ingest.clamav: unknown key 'socket'")]
    [InlineData("  ingest:\n    compression_algorithm: zstd", "server.ingest.compression_algorithm: 'zstd' is not one of brotli, gzip")]
    [InlineData("  ingest:\n    redis_url: http://cache:6379", "is not a redis://HOST[:PORT][/DB] URL")]
    public void Parse_BadScanCompressionOrDiscoveryKey_NamesIt(string section, string expected)
    {
        Assert.Contains(expected, Fails("server:\n" + section + "\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  storage_elements:\n    - { id: se1, location: /a/, mode: write }", "config.yaml:3: server.storage_elements[0].mode: 'write' is not a mode")]
    [InlineData("  storage_elements:\n    - { id: se1, location: /a/ }\n    - { id: se1, location: /b/ }", "config.yaml:4: server.storage_elements[1]: the id 'se1' is used twice")]
    [InlineData("  storage_elements:\n    - { id: se1 }", "config.yaml:3: server.storage_elements[0]: 'location' is missing")]
    [InlineData("  storage_elements:\n    - { id: se1, location: /a/, size: 1G }", "unknown key 'size'")]
    [InlineData("  ingest:\n    storage_selection: fastest", "config.yaml:3: server.ingest.storage_selection: 'fastest' is not one of least_used, round_robin, random")]
    [InlineData("  ingest:\n    max_file_size: huge", "server.ingest.max_file_size: 'huge' is not a size")]
    [InlineData("  ingest:\n    colour: blue", "server.ingest: unknown key 'colour'")]
    public void Parse_BadIngestKey_NamesTheLineAndKey(string section, string expected)
    {
        Assert.Contains(expected, Fails("server:\n" + section + "\n"), StringComparison.Ordinal);
    }
}
