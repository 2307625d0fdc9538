using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The seed's environment variables over the config file's `server.ingest`.</summary>
public sealed class IngestEnvironmentTests
{
    private static ServerSettings Settings(IngestConfig ingest, Dictionary<string, string> environment) =>
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
    public void From_BadVariable_IsAUsageErrorNamingIt(string name, string value)
    {
        var e = Assert.Throws<LoadPipeException>(() => Settings(new IngestConfig(), new() { [name] = value }));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.StartsWith(name + ": ", e.Message, StringComparison.Ordinal);
    }
}
