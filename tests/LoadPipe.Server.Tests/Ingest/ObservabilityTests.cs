using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using Microsoft.Extensions.Logging;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The ingest API's observability: the seed's spans with their parent/child links, the seed's metric names on
/// /metrics, and JSON log lines that carry no token.</summary>
public sealed class ObservabilityTests
{
    /// <summary>Every span of the ingest source that ends while it is alive (other tests' too: filter by file id).</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;

        public SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == IngestTelemetry.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = Stopped.Add,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentBag<Activity> Stopped { get; } = [];

        /// <summary>The upload span of <paramref name="fileId"/> once it ended (the response may reach the client first).</summary>
        public async Task<Activity> UploadSpanAsync(string fileId)
        {
            Activity? found = null;
            await Poll.UntilAsync(() => Task.FromResult((found = Stopped.FirstOrDefault(a =>
                a.OperationName == IngestTelemetry.Upload && (a.GetTagItem(IngestTelemetry.FileIdTag) as string) == fileId)) is not null),
                () => $"no {IngestTelemetry.Upload} span of file {fileId}");
            return found!;
        }

        public List<Activity> ChildrenOf(Activity parent) =>
            [.. Stopped.Where(a => a.TraceId == parent.TraceId && a.ParentSpanId == parent.SpanId).OrderBy(a => a.StartTimeUtc)];

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Upload_YieldsTheSeedsSpans_AsChildrenOfTheUploadSpan()
    {
        using var spans = new SpanRecorder();
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(50_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes)));

        var upload = await spans.UploadSpanAsync(uploaded.FileId);
        Assert.Equal(ActivityStatusCode.Unset, upload.Status);
        Assert.Equal(uploaded.StorageElementId, upload.GetTagItem(IngestTelemetry.StorageElementTag));
        Assert.Equal(bytes.Length, (long)upload.GetTagItem(IngestTelemetry.SizeTag)!);
        var children = spans.ChildrenOf(upload);
        Assert.Equal([IngestTelemetry.Validation, IngestTelemetry.StorageSelection], children.Select(a => a.OperationName));
        Assert.Equal("application/pdf", children[0].GetTagItem(IngestTelemetry.MimeTypeTag));
        Assert.Equal(uploaded.StorageElementId, children[1].GetTagItem(IngestTelemetry.StorageElementTag));
        Assert.All(children, c => Assert.True(c.StartTimeUtc >= upload.StartTimeUtc && c.StartTimeUtc + c.Duration <= upload.StartTimeUtc + upload.Duration));
    }

    [Fact]
    public async Task RefusedUpload_MarksItsValidationAndUploadSpansFailed()
    {
        using var spans = new SpanRecorder();
        await using var server = await RunningServer.StartAsync();
        // FLAC, a type no other test sends: the refused upload has no file id, so its spans are found by the type.
        var flac = Pdf(5000);
        "fLaC"u8.CopyTo(flac);
        await AssertErrorAsync(await UploadAsync(server.Client, Form(flac, "refused-for-spans.pdf")), 415, IngestErrors.MimeTypeNotAllowed);

        Activity? validation = null;
        await Poll.UntilAsync(() => Task.FromResult((validation = spans.Stopped.FirstOrDefault(a =>
            a.OperationName == IngestTelemetry.Validation && (a.GetTagItem(IngestTelemetry.MimeTypeTag) as string) == "audio/flac")) is not null
            && spans.Stopped.Any(a => a.SpanId == validation!.ParentSpanId)), () => "no failed validation span with its parent");
        Assert.Equal(ActivityStatusCode.Error, validation!.Status);
        Assert.Equal(IngestErrors.MimeTypeNotAllowed, validation.GetTagItem(IngestTelemetry.ErrorTag));
        var upload = spans.Stopped.Single(a => a.SpanId == validation.ParentSpanId);
        Assert.Equal(IngestTelemetry.Upload, upload.OperationName);
        Assert.Equal(ActivityStatusCode.Error, upload.Status);
        Assert.DoesNotContain(spans.ChildrenOf(upload), a => a.OperationName == IngestTelemetry.StorageSelection);
    }

    [Fact]
    public async Task Metrics_CarryEachOfTheSeedsNames_AfterUploads()
    {
        // Every PDF is compressed (it is a compressible type), so the first upload records a compression ratio.
        await using var server = await RunningServer.StartAsync(configure: s => s with
        {
            Ingest = IngestSettings.From(new IngestConfig(), s.Destination) with { CompressionMinSize = 1 },
        });
        Assert.EndsWith(".br", (await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(20_000))))).StorageFilename, StringComparison.Ordinal);
        // A second upload whose record step keeps failing: its saga undoes the store and the sidecar (compensations).
        server.Server.Ingest.Sagas.Faults = (saga, step, _) => saga == "upload" && step == "record" ? new IOException("injected") : null;
        await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(20_000))), 502, IngestErrors.SagaFailed);

        using var response = await server.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        foreach (var (name, type) in new[]
                 {
                     ("artstore_ingester_uploads_total", "counter"),
                     ("artstore_ingester_upload_duration_seconds", "histogram"),
                     ("artstore_ingester_upload_size_bytes", "histogram"),
                     ("artstore_ingester_storage_selection_duration_seconds", "histogram"),
                     ("artstore_ingester_compression_ratio", "histogram"),
                     ("artstore_ingester_circuit_breaker_state", "gauge"),
                     ("artstore_ingester_saga_transactions_total", "counter"),
                     ("artstore_ingester_saga_compensations_total", "counter"),
                 })
        {
            Assert.Contains($"# TYPE {name} {type}\n", text, StringComparison.Ordinal);
        }
        Assert.Contains("artstore_ingester_uploads_total{otel_scope_name=\"LoadPipe.Ingest\",status=\"success\"}", text, StringComparison.Ordinal);
        Assert.Contains("status=\"failure\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonLogs_AreOneObjectPerLine_AndCarryNoToken()
    {
        var log = new StringWriter();
        var lines = new ConcurrentQueue<string>();
        await using (var server = await RunningServer.StartAsync(jwt: true,
                         host: h => h with { LogFormat = LogFormat.Json, LogLevel = LogLevel.Debug, LogOutput = TextWriter.Synchronized(log) },
                         configure: s => s with { Ingest = IngestSettings.From(new IngestConfig(), s.Destination) }))
        {
            var token = Tokens.Hs256("upload read delete");
            var forged = Tokens.Hs256("upload", secret: "another-secret-of-more-than-32-characters!");
            var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(10_000)), token));
            await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(10_000)), forged), 401, IngestErrors.Unauthorized);
            await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(10_000), "../x.pdf"), token), 400, IngestErrors.InvalidFilename);
            using var delete = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}", token);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, delete.StatusCode);

            var text = log.ToString();
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries)) lines.Enqueue(line);
            Assert.Contains(lines, l => l.Contains(uploaded.FileId, StringComparison.Ordinal));
            foreach (var secret in new[] { token, forged, token.Split('.')[2], forged.Split('.')[2], RunningServer.Secret })
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
            foreach (var key in new[] { "time", "level", "category", "message" }) Assert.True(json.RootElement.TryGetProperty(key, out _), $"{key} missing in {line}");
        }
    }
}
