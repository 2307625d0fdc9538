using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Ingest.Publishing;
using LoadPipe.Server.Ingest.Sagas;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>
/// The seed's six test scenarios ("Тестовые сценарии"), each end to end over HTTP against `lp serve` with every real
/// service together (<see cref="SeedStack"/>): PostgreSQL as the manifest, s3rver as the preferred storage element and a
/// local folder beside it, clamd scanning every file, Redis for discovery and the saga's publish step, JWT auth.
/// </summary>
public sealed class SeedScenarioTests
{
    private static readonly byte[] Eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"u8.ToArray();

    private static async Task<RespConnection> SubscribeAsync(SeedStack stack)
    {
        var connection = await RespConnection.ConnectAsync(stack.Redis, TimeSpan.FromSeconds(10), CancellationToken.None);
        await connection.SendAsync(["SUBSCRIBE", stack.FilesChannel], CancellationToken.None);
        Assert.IsType<object?[]>(await connection.ReadAsync(CancellationToken.None));
        return connection;
    }

    private static async Task<FileEvent> NextEventAsync(RespConnection subscriber)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var push = Assert.IsType<object?[]>(await subscriber.ReadAsync(limit.Token));
        return JsonSerializer.Deserialize(Assert.IsType<string>(push[2]), IngestJson.Default.FileEvent)!;
    }

    private static async Task<List<SagaRecord>> SagasAsync(RunningServer server)
    {
        var all = new List<SagaRecord>();
        await foreach (var saga in server.Server.Ingest.Sagas.ListAsync()) all.Add(saga);
        return all;
    }

    private static async Task<byte[]> ContentAsync(SeedStack stack, string fileId, string? range = null)
    {
        using var response = await SendAsync(stack.Client, HttpMethod.Get, $"/api/files/{fileId}/content", range: range);
        Assert.Equal(range is null ? HttpStatusCode.OK : HttpStatusCode.PartialContent, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static string Sha256(byte[] bytes) => Hex(SHA256.HashData(bytes));

    /// <summary>Simple upload: one file under 100 MB lands on the S3 element with its attr.json, is recorded in
    /// PostgreSQL, announced on Redis, and reads back whole and by range.</summary>
    [Fact]
    public async Task Scenario1_SimpleUpload_StoredOnS3RecordedAnnouncedAndReadBack()
    {
        await using var stack = await SeedStack.StartAsync();
        await using var subscriber = await SubscribeAsync(stack);
        var bytes = Pdf(3 << 20);

        var uploaded = await UploadedAsync(await UploadAsync(stack.Client, Form(bytes, "report.pdf", fields: ("metadata", """{"owner":"ivanov"}"""))));
        Assert.Equal(SeedStack.S3ElementId, uploaded.StorageElementId);
        Assert.Equal(bytes.Length, uploaded.SizeBytes);
        Assert.Equal(Sha256(bytes), uploaded.Sha256Hash);
        Assert.Equal(Hex(MD5.HashData(bytes)), uploaded.Md5Hash);
        Assert.Matches(@"^report_tester_\d{8}T\d{6}_[0-9a-f-]{36}\.pdf$", uploaded.StorageFilename);

        Assert.Equal([$"se/{uploaded.StorageFilename}", $"se/{Sidecars.NameOf(uploaded.StorageFilename)}"], await stack.ObjectsAsync());
        Assert.Equal(bytes, await stack.ObjectAsync($"se/{uploaded.StorageFilename}"));
        var sidecar = JsonSerializer.Deserialize(await stack.ObjectAsync($"se/{Sidecars.NameOf(uploaded.StorageFilename)}"), IngestJson.Default.FileRecord)!;
        Assert.Equal(uploaded.FileId, sidecar.FileId);
        Assert.Empty(stack.LocalFiles());

        var record = Assert.Single(await RecordsAsync(stack.Server));
        Assert.Equal(uploaded.FileId, record.FileId);
        Assert.Equal("ivanov", record.Metadata!.Value.GetProperty("owner").GetString());
        using (var shown = await SendAsync(stack.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}"))
        {
            Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
            Assert.Equal(uploaded.Sha256Hash, JsonDocument.Parse(await shown.Content.ReadAsStringAsync()).RootElement.GetProperty("sha256_hash").GetString());
        }
        Assert.Equal(bytes, await ContentAsync(stack, uploaded.FileId));
        Assert.Equal(bytes[1000..2000], await ContentAsync(stack, uploaded.FileId, "bytes=1000-1999"));

        var announced = await NextEventAsync(subscriber);
        Assert.Equal((FileEvent.Stored, uploaded.FileId, SeedStack.S3ElementId), (announced.Event, announced.FileId, announced.StorageElementId));
        Assert.Equal("completed", Assert.Single(await SagasAsync(stack.Server)).Status);
    }

    /// <summary>The same stack refuses the EICAR file (clamd, as the bytes stream): nothing at either element, no record.</summary>
    [Fact]
    public async Task Scenario1_Eicar_RefusedWithNothingStoredAnywhere()
    {
        await using var stack = await SeedStack.StartAsync();
        await AssertErrorAsync(await UploadAsync(stack.Client, Form(Eicar, "eicar.txt")), 422, IngestErrors.VirusDetected);
        Assert.Empty(await stack.ObjectsAsync());
        Assert.Empty(stack.LocalFiles());
        Assert.Empty(await RecordsAsync(stack.Server));
    }

    /// <summary>Large file: over 100 MB, sent chunked (no Content-Length), streamed to S3, scanned and compressed on the
    /// way; the bytes and both hashes match end to end.</summary>
    [Fact]
    public async Task Scenario2_LargeFileOver100MB_StreamedChunkedToS3()
    {
        await using var stack = await SeedStack.StartAsync();
        var bytes = Pdf((100 << 20) + 123_457);

        var uploaded = await UploadedAsync(await UploadAsync(stack.Client, Form(bytes, "large.pdf", chunked: true)));
        Assert.Equal(SeedStack.S3ElementId, uploaded.StorageElementId);
        Assert.Equal(bytes.Length, uploaded.SizeBytes);
        Assert.Equal(Sha256(bytes), uploaded.Sha256Hash);
        Assert.Equal(Hex(MD5.HashData(bytes)), uploaded.Md5Hash);
        // A PDF over compression_min_size: compressed on its way (decided from its bytes, as the body has no length).
        Assert.EndsWith(".pdf.br", uploaded.StorageFilename, StringComparison.Ordinal);
        await using (var stored = new System.IO.Compression.BrotliStream(
            new MemoryStream(await stack.ObjectAsync($"se/{uploaded.StorageFilename}")), System.IO.Compression.CompressionMode.Decompress))
            Assert.Equal(Sha256(bytes), Hex(await SHA256.HashDataAsync(stored)));
        Assert.Equal(Sha256(bytes), Sha256(await ContentAsync(stack, uploaded.FileId)));
        var record = Assert.Single(await RecordsAsync(stack.Server));
        Assert.Equal((uploaded.FileId, "brotli"), (record.FileId, record.Compression));
    }

    /// <summary>Resumable upload: a first part, the server stopped (an interruption: what it held in memory is gone), and
    /// another server on the same PostgreSQL manifest takes the rest; the file is whole on S3.</summary>
    [Fact]
    public async Task Scenario3_ResumableUpload_InterruptedByAServerStop_ContinuesAndCompletes()
    {
        await using var stack = await SeedStack.StartAsync();
        var bytes = Pdf(6 << 20);
        var session = Guid.NewGuid().ToString();
        var third = bytes.Length / 3;

        using (var first = await UploadSessionTests.PartAsync(stack.Client, session, bytes, 0, third - 1, "resumed.pdf"))
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        await stack.RestartAsync();

        using (var status = await stack.Client.GetAsync($"/api/files/upload/session/{session}"))
        {
            var body = JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            Assert.Equal("in_progress", body.GetProperty("status").GetString());
            Assert.Equal(third, body.GetProperty("bytes_uploaded").GetInt64());
        }
        using (var second = await UploadSessionTests.PartAsync(stack.Client, session, bytes, third, 2 * third - 1, "resumed.pdf"))
            Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var uploaded = await UploadedAsync(await UploadSessionTests.PartAsync(stack.Client, session, bytes, 2 * third, bytes.Length - 1, "resumed.pdf"));

        Assert.Equal(SeedStack.S3ElementId, uploaded.StorageElementId);
        Assert.Equal(Sha256(bytes), uploaded.Sha256Hash);
        Assert.Equal(bytes, await stack.ObjectAsync($"se/{uploaded.StorageFilename}"));
        Assert.Equal(uploaded.FileId, Assert.Single(await RecordsAsync(stack.Server)).FileId);
    }

    /// <summary>Batch upload: ten files at once (and the EICAR file among them): 207, ten stored on S3 and announced,
    /// the EICAR file refused with nothing stored.</summary>
    [Fact]
    public async Task Scenario4_BatchOfTenFiles_Answers207AndStoresEach()
    {
        await using var stack = await SeedStack.StartAsync();
        await using var subscriber = await SubscribeAsync(stack);
        var files = Enumerable.Range(0, 10).Select(i => ($"doc{i}.pdf", Pdf(100_000 + i))).Append(("eicar.txt", Eicar)).ToList();
        using var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", name);
        }

        using var response = await stack.Client.PostAsync("/api/files/batch/upload", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == (HttpStatusCode)207, text);
        var body = JsonSerializer.Deserialize(text, IngestJson.Default.BatchBody)!;
        Assert.Equal(new BatchSummary(11, 10, 1), body.Summary);
        Assert.Equal(files.Select(f => f.Item1), body.Results.Select(r => r.Filename));
        Assert.Equal(IngestErrors.VirusDetected, body.Results[10].Error);

        var records = (await RecordsAsync(stack.Server)).ToDictionary(r => r.FileId);
        Assert.Equal(10, records.Count);
        var objects = await stack.ObjectsAsync();
        Assert.Equal(20, objects.Count);
        for (var i = 0; i < 10; i++)
        {
            var record = records[body.Results[i].FileId!];
            Assert.Equal(Sha256(files[i].Item2), record.Sha256Hash);
            Assert.Equal(files[i].Item2, await stack.ObjectAsync($"se/{record.StorageFilename}"));
        }
        var announced = new HashSet<string>();
        for (var i = 0; i < 10; i++) announced.Add((await NextEventAsync(subscriber)).FileId);
        Assert.Equal(records.Keys.Order(), announced.Order());
    }

    /// <summary>Storage element failure: the S3 element's link is cut; its health checks fail and open its circuit
    /// breaker, uploads go to the local element with none failing, the state shows on /api/storage-elements and
    /// /metrics; the link mended, the element is re-admitted after the break and takes uploads again.</summary>
    [Fact]
    public async Task Scenario5_StorageElementFails_BreakerOpensUploadsFailOverThenItIsReadmitted()
    {
        await using var stack = await SeedStack.StartAsync();
        var elements = stack.Server.Server.Ingest.Elements;
        var s3 = elements.Find(SeedStack.S3ElementId)!;
        await Poll.UntilAsync(() => Task.FromResult(elements.All.All(e => e.LastCheckAt is not null)), () => "the elements were never checked");
        Assert.True(s3.Healthy, s3.LastError);
        var before = await UploadedAsync(await UploadAsync(stack.Client, Form(Pdf(200_000))));
        Assert.Equal(SeedStack.S3ElementId, before.StorageElementId);

        stack.S3Link.Cut();
        // Five failed checks in a row: the threshold.
        for (var i = 0; i < 5; i++) await elements.CheckAllAsync(CancellationToken.None);
        Assert.False(s3.Healthy);
        Assert.Equal("open", s3.BreakerState);
        for (var i = 0; i < 3; i++)
            Assert.Equal(SeedStack.LocalElementId, (await UploadedAsync(await UploadAsync(stack.Client, Form(Pdf(200_000 + i))))).StorageElementId);
        Assert.Equal(3, stack.LocalFiles().Count(f => f.EndsWith(".pdf", StringComparison.Ordinal)));
        using (var listed = await SendAsync(stack.Client, HttpMethod.Get, "/api/storage-elements"))
        {
            var state = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.GetProperty("storage_elements")
                .EnumerateArray().Single(e => e.GetProperty("id").GetString() == SeedStack.S3ElementId);
            Assert.Equal("open", state.GetProperty("circuit_breaker_state").GetString());
            Assert.False(state.GetProperty("available").GetBoolean());
        }
        using (var metrics = await stack.Client.GetAsync("/metrics"))
        {
            var text = await metrics.Content.ReadAsStringAsync();
            Assert.Contains(text.Split('\n'), line => line.StartsWith("artstore_ingester_circuit_breaker_state", StringComparison.Ordinal)
                && line.Contains(SeedStack.S3ElementId, StringComparison.Ordinal));
        }

        // Mended: after the break (1 s here) and two passed checks, it is healthy and preferred again.
        stack.S3Link.Restore();
        await Poll.UntilAsync(async () =>
        {
            await elements.CheckAllAsync(CancellationToken.None);
            return s3.Healthy;
        }, () => $"{SeedStack.S3ElementId} never came back: breaker {s3.BreakerState}, {s3.LastError}");
        Assert.Equal("closed", s3.BreakerState);
        var after = await UploadedAsync(await UploadAsync(stack.Client, Form(Pdf(200_000))));
        Assert.Equal(SeedStack.S3ElementId, after.StorageElementId);
        Assert.Equal(4, (await stack.ObjectsAsync()).Count);
        Assert.Equal(5, (await RecordsAsync(stack.Server)).Count);
    }

    /// <summary>Saga rollback: a step of the upload saga keeps failing; the steps done before it are undone in reverse
    /// (the object and its attr.json gone from S3, the record from PostgreSQL, the announcement withdrawn), and the
    /// saga is recorded as compensated.</summary>
    [Theory]
    [InlineData("store")]
    [InlineData("record")]
    [InlineData("webhook")]
    public async Task Scenario6_SagaRollback_FailureAtAStepUndoesTheStepsBefore(string failing)
    {
        await using var stack = await SeedStack.StartAsync();
        await using var subscriber = await SubscribeAsync(stack);
        stack.Server.Server.Ingest.Sagas.Faults = (saga, step, _) => saga == "upload" && step == failing ? new IOException($"injected failure at {step}") : null;

        await AssertErrorAsync(await UploadAsync(stack.Client, Form(Pdf(500_000))), 502, IngestErrors.SagaFailed);
        Assert.Empty(await stack.ObjectsAsync());
        Assert.Empty(stack.LocalFiles());
        Assert.Empty(await RecordsAsync(stack.Server));
        var saga = Assert.Single(await SagasAsync(stack.Server));
        Assert.Equal("compensated", saga.Status);
        Assert.Equal("failed", saga.Steps.Single(s => s.Step == failing).Status);
        Assert.All(saga.Steps.SkipWhile(s => s.Step != "store").TakeWhile(s => s.Step != failing), s => Assert.Equal("compensated", s.Status));

        // Announced only when the publish step was reached, and then withdrawn.
        stack.Server.Server.Ingest.Sagas.Faults = null;
        var next = await UploadedAsync(await UploadAsync(stack.Client, Form(Pdf(1000))));
        var events = new List<FileEvent>();
        do events.Add(await NextEventAsync(subscriber));
        while (events[^1].FileId != next.FileId);
        Assert.Equal(failing == "webhook" ? [FileEvent.Stored, FileEvent.Removed, FileEvent.Stored] : [FileEvent.Stored], events.Select(e => e.Event));
    }
}
