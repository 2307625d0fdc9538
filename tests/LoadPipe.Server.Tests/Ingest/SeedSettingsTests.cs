using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Ingest.Sagas;
using LoadPipe.Server.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The seed's "Environment Variables", every one read, and the four whose parts came last doing what the seed
/// says over real HTTP: CHUNK_SIZE_MB, UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS, SAGA_ENABLED, SAGA_TIMEOUT_SECONDS.</summary>
public sealed class SeedSettingsTests
{
    /// <summary>The seed's section, as it lists them (seed 001, "Environment Variables").</summary>
    private static readonly string[] SeedVariables =
    [
        "MAX_FILE_SIZE_MB", "MAX_BATCH_FILES", "MAX_BATCH_SIZE_MB", "CHUNK_SIZE_MB",
        "COMPRESSION_ENABLED", "COMPRESSION_MIN_SIZE_MB", "COMPRESSION_ALGORITHM",
        "STORAGE_SELECTION_STRATEGY", "STORAGE_HEALTH_CHECK_INTERVAL_SECONDS",
        "REDIS_URL", "SERVICE_DISCOVERY_CHANNEL", "SERVICE_DISCOVERY_FALLBACK_CONFIG",
        "RESUMABLE_UPLOADS_ENABLED", "UPLOAD_SESSION_TTL_HOURS", "UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS",
        "CIRCUIT_BREAKER_ENABLED", "CIRCUIT_BREAKER_FAILURE_THRESHOLD", "CIRCUIT_BREAKER_SUCCESS_THRESHOLD", "CIRCUIT_BREAKER_TIMEOUT_SECONDS",
        "SAGA_ENABLED", "SAGA_TIMEOUT_SECONDS", "SAGA_RETRY_MAX_ATTEMPTS",
        "VIRUS_SCAN_ENABLED", "MIME_TYPE_VALIDATION", "ALLOWED_MIME_TYPES",
        "OPENTELEMETRY_ENABLED", "PROMETHEUS_METRICS_ENABLED",
    ];

    private static IngestSettings Settings(IngestConfig ingest, Dictionary<string, string> environment) => IngestEnvironmentTests.Settings(ingest, environment).Ingest!;

    private static Func<ServerSettings, ServerSettings> Ingest(Func<IngestSettings, IngestSettings> change) => SagaTests.Ingest(change);

    private static Task<List<SagaRecord>> SagasAsync(RunningServer server) => SagaTests.SagasAsync(server);

    [Fact]
    public void EverySeedVariable_IsRead()
    {
        Assert.Empty(SeedVariables.Except(IngestEnvironment.Names));
        Assert.Equal(IngestEnvironment.Names.Count, IngestEnvironment.Names.Distinct().Count());
    }

    [Fact]
    public void ChunkCleanupAndSagaVariables_WinOverTheFile()
    {
        var file = new IngestConfig
        {
            ChunkSize = 4 << 20, UploadSessionCleanupInterval = TimeSpan.FromMinutes(5), SagaEnabled = true, SagaTimeout = TimeSpan.FromSeconds(60),
        };
        var fromFile = Settings(file, []);
        Assert.Equal(4 << 20, fromFile.ChunkSize);
        Assert.Equal(TimeSpan.FromMinutes(5), fromFile.UploadSessionCleanupInterval);
        Assert.True(fromFile.SagaEnabled);
        Assert.Equal(TimeSpan.FromSeconds(60), fromFile.SagaTimeout);

        var fromEnvironment = Settings(file, new()
        {
            ["CHUNK_SIZE_MB"] = "10",
            ["UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS"] = "1",
            ["SAGA_ENABLED"] = "false",
            ["SAGA_TIMEOUT_SECONDS"] = "300",
        });
        Assert.Equal(10 << 20, fromEnvironment.ChunkSize);
        Assert.Equal(TimeSpan.FromHours(1), fromEnvironment.UploadSessionCleanupInterval);
        Assert.False(fromEnvironment.SagaEnabled);
        Assert.Equal(TimeSpan.FromSeconds(300), fromEnvironment.SagaTimeout);

        // Neither given: the engine's chunk, the sweeper's own interval, sagas on with the seed's 300 s.
        var defaults = Settings(new IngestConfig(), []);
        Assert.Null(defaults.ChunkSize);
        Assert.Null(defaults.UploadSessionCleanupInterval);
        Assert.True(defaults.SagaEnabled);
        Assert.Equal(TimeSpan.FromSeconds(300), defaults.SagaTimeout);
    }

    [Fact]
    public void BadConfigValues_AreUsageErrors()
    {
        Assert.Contains("chunk_size", Assert.Throws<LoadPipeException>(() => Settings(new IngestConfig { ChunkSize = 1000 }, [])).Message, StringComparison.Ordinal);
        Assert.Contains("saga_timeout", Assert.Throws<LoadPipeException>(() => Settings(new IngestConfig { SagaTimeout = TimeSpan.Zero }, [])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChunkSize_IsThePushEntrysWrite_AndTheFileComesBackWhole()
    {
        const int chunk = 256 << 10;
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { ChunkSize = chunk }));
        var bytes = Pdf(2 << 20);
        var session = Guid.NewGuid().ToString();
        using (var first = await UploadSessionTests.PartAsync(server.Client, session, bytes, 0, (1 << 20) - 1))
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);

        // The first part's bytes, as the manifest records them while the upload is open: one chunk per write of chunk_size.
        var upload = await (await server.Store.UploadsAsync(default)).GetAsync(UploadSessions.UploadIdOf(session));
        var chunks = await (await server.Host.ManifestAsync(default)).GetChunksAsync(upload!.TransferId);
        Assert.Equal((1 << 20) / chunk, chunks.Count);
        Assert.All(chunks, c => Assert.Equal(chunk, c.Length));

        var uploaded = await UploadedAsync(await UploadSessionTests.PartAsync(server.Client, session, bytes, 1 << 20, bytes.Length - 1));
        using var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content");
        Assert.Equal(bytes, await content.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task SagaDisabled_AFailingStepIsNotRetried_IsStillUndone_AndNoSagaIsRecorded()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { SagaEnabled = false }));
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(20_000), "kept.pdf")));

        var attempts = 0;
        server.Server.Ingest.Sagas.Faults = (_, step, _) => step == "record" && ++attempts > 0 ? new IOException("injected failure at record") : null;
        using var failed = await UploadAsync(server.Client, Form(Pdf(20_000), "dropped.pdf"));
        await AssertErrorAsync(failed, 502, IngestErrors.StorageError);
        Assert.Equal(1, attempts);

        // Nothing half-done: the failed file's object and sidecar are gone; the first file is whole.
        var record = Assert.Single(await RecordsAsync(server));
        Assert.Equal(uploaded.FileId, record.FileId);
        Assert.Equal(new[] { record.StorageFilename, Sidecars.NameOf(record.StorageFilename) }.Order(StringComparer.Ordinal), server.StoredFiles().Order(StringComparer.Ordinal));
        Assert.Empty(await SagasAsync(server));

        server.Server.Ingest.Sagas.Faults = null;
        using (var deleted = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await SagasAsync(server));
    }

    [Fact]
    public async Task SagaTimeout_AStepPastIt_IsCancelled_AndTheUploadIsUndone()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: Ingest(i => i with { SagaTimeout = TimeSpan.FromSeconds(30) }));
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The webhook does not answer: the saga waits on it until its time is up.
        server.Server.Ingest.Sagas.Pause = async (saga, step, ct) =>
        {
            if (step != "webhook") return;
            reached.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        };

        var uploading = UploadAsync(server.Client, Form(Pdf(50_000)));
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
        time.Advance(TimeSpan.FromSeconds(31));
        using var response = await uploading;
        await AssertErrorAsync(response, 504, IngestErrors.SagaTimeout);

        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
        var saga = Assert.Single(await SagasAsync(server));
        Assert.Equal("compensated", saga.Status);
        var webhook = saga.Steps.Single(s => s.Step == "webhook");
        Assert.Equal("failed", webhook.Status);
        Assert.Contains("timeout", webhook.Error, StringComparison.Ordinal);
        Assert.All(saga.Steps.Where(s => s.Step is "store" or "attr.json" or "record" or "publish"), s => Assert.Equal("compensated", s.Status));
    }

    [Fact]
    public async Task CleanupInterval_IsHowOftenTheSweeperRemovesExpiredSessions()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: Ingest(i => i with
        {
            UploadSessionTtl = TimeSpan.FromMinutes(30), UploadSessionCleanupInterval = TimeSpan.FromHours(1),
        }));
        var bytes = Pdf(100_000);
        var session = Guid.NewGuid().ToString();
        (await UploadSessionTests.PartAsync(server.Client, session, bytes, 0, 49_999)).Dispose();
        var uploads = await server.Store.UploadsAsync(default);
        var id = UploadSessions.UploadIdOf(session);

        // Expired, but the sweeper's hour has not come: no sweep was due, so none ran.
        time.Advance(TimeSpan.FromMinutes(31));
        Assert.NotNull(await uploads.GetAsync(id));

        time.Advance(TimeSpan.FromMinutes(30));
        await Poll.UntilAsync(async () => await uploads.GetAsync(id) is null, () => "the sweeper did not remove the expired session at its interval");
        Assert.Empty(server.StoredFiles());
    }
}
