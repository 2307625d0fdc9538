using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Sagas;
using LoadPipe.Server.Ingest.Transfers;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>`POST /api/files/{id}/transfer` and its status over real HTTP: a move and a copy between local elements
/// through the engine, verified; a failure injected at each step of the transfer saga leaves the source as it was and
/// nothing at the destination; refusals as error bodies.</summary>
public sealed class TransferTests
{
    /// <summary>se1 (edit), where uploads go; se2 (rw) and se3 (ro), where they do not (a preferred region).</summary>
    private static Func<ServerSettings, ServerSettings> Elements() => s =>
    {
        var root = Path.GetDirectoryName(s.Destination.TrimEnd('/'))!;
        return s with
        {
            Ingest = IngestSettings.From(new IngestConfig
            {
                StorageElements =
                [
                    new() { Id = "se1", Location = Path.Combine(root, "se1") + "/", Mode = "edit", Region = "here" },
                    new() { Id = "se2", Location = Path.Combine(root, "se2") + "/", Mode = "rw" },
                    new() { Id = "se3", Location = Path.Combine(root, "se3") + "/", Mode = "ro" },
                ],
                PreferredRegion = "here",
                HealthCheckInterval = TimeSpan.FromDays(1),
            }, s.Destination),
        };
    };

    private static string Folder(RunningServer server, string element) => Path.Combine(Path.GetDirectoryName(server.Destination)!, element);

    private static IReadOnlyList<string> Files(RunningServer server, string element) =>
        Directory.Exists(Folder(server, element))
            ? Directory.EnumerateFiles(Folder(server, element), "*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f)).Order().ToList()
            : [];

    private static async Task<HttpResponseMessage> TransferAsync(HttpClient client, string fileId, string body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/files/{fileId}/transfer") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    /// <summary>Starts a transfer (202) and waits until it ends; returns its last state.</summary>
    private static async Task<TransferBody> RunAsync(RunningServer server, string fileId, string destination, bool move)
    {
        using var started = await TransferAsync(server.Client, fileId, $$"""{"destination_storage_element_id":"{{destination}}","delete_source":{{(move ? "true" : "false")}},"verify_checksum":true}""");
        var text = await started.Content.ReadAsStringAsync();
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, text);
        var accepted = JsonSerializer.Deserialize(text, TransferJson.Default.TransferBody)!;
        Assert.Equal("queued", accepted.Status);
        TransferBody? state = null;
        await Poll.UntilAsync(async () =>
        {
            using var response = await server.Client.GetAsync($"/api/files/transfer/{accepted.TransferId}");
            state = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), TransferJson.Default.TransferBody);
            return state?.Status is "completed" or "failed";
        }, () => $"the transfer did not end: {state?.Status}");
        return state!;
    }

    [Fact]
    public async Task Move_VerifiedCopyThenTheSourceGoes_TheRecordNamesTheDestination()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements());
        var bytes = Pdf(700_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes)));
        Assert.Equal("se1", uploaded.StorageElementId);

        var done = await RunAsync(server, uploaded.FileId, "se2", move: true);
        Assert.True(done.Status == "completed", $"{done.Error}: {done.Message}");
        Assert.Equal(bytes.Length, done.BytesTransferred);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.CompletedAt);
        Assert.Null(done.DestinationFileId);

        Assert.Empty(Files(server, "se1"));
        Assert.Equal([uploaded.StorageFilename, uploaded.StorageFilename + ".attr.json"], Files(server, "se2"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(Folder(server, "se2"), uploaded.StorageFilename)));
        var record = Assert.Single(await RecordsAsync(server));
        Assert.Equal("se2", record.StorageElementId);
        Assert.Equal(uploaded.Sha256Hash, record.Sha256Hash);
        using var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content");
        Assert.Equal(bytes, await content.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Copy_LeavesTheSourceAndMakesANewFileAtTheDestination()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements());
        var bytes = Pdf(50_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes)));

        var done = await RunAsync(server, uploaded.FileId, "se2", move: false);
        Assert.True(done.Status == "completed", $"{done.Error}: {done.Message}");
        Assert.NotNull(done.DestinationFileId);
        Assert.Equal(2, Files(server, "se1").Count);
        var records = await RecordsAsync(server);
        Assert.Equal(2, records.Count);
        var copy = records.Single(r => r.FileId == done.DestinationFileId);
        Assert.Equal("se2", copy.StorageElementId);
        Assert.Equal(uploaded.Sha256Hash, copy.Sha256Hash);
        Assert.Equal([copy.StorageFilename, copy.StorageFilename + ".attr.json"], Files(server, "se2"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(Folder(server, "se2"), copy.StorageFilename)));
    }

    [Theory]
    [InlineData("copy")]
    [InlineData("verify")]
    [InlineData("attr.json")]
    [InlineData("record")]
    [InlineData("source attr.json")]
    [InlineData("source file")]
    public async Task Move_StepThatKeepsFailing_LeavesTheSourceAsItWasAndNothingAtTheDestination(string failing)
    {
        await using var server = await RunningServer.StartAsync(configure: Elements());
        var bytes = Pdf(100_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes)));
        var before = Assert.Single(await RecordsAsync(server));
        server.Server.Ingest.Sagas.Faults = (saga, step, _) => saga == "transfer" && step == failing ? new IOException($"injected failure at {step}") : null;

        var done = await RunAsync(server, uploaded.FileId, "se2", move: true);
        Assert.Equal("failed", done.Status);
        Assert.Equal(IngestErrors.SagaFailed, done.Error);
        Assert.Contains(failing, done.Message, StringComparison.Ordinal);

        Assert.Empty(Files(server, "se2"));
        Assert.Equal([uploaded.StorageFilename, uploaded.StorageFilename + ".attr.json"], Files(server, "se1"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(Folder(server, "se1"), uploaded.StorageFilename)));
        Assert.Equal(before, Assert.Single(await RecordsAsync(server)));
        var saga = Assert.Single(await SagasAsync(server), s => s.Saga == "transfer");
        Assert.Equal("compensated", saga.Status);
    }

    private static async Task<List<SagaRecord>> SagasAsync(RunningServer server)
    {
        var all = new List<SagaRecord>();
        await foreach (var saga in server.Server.Ingest.Sagas.ListAsync()) all.Add(saga);
        return all;
    }

    [Fact]
    public async Task Transfer_BadRequests_AreErrorBodiesAndChangeNothing()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements());
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(1000))));
        var id = uploaded.FileId;

        await AssertErrorAsync(await TransferAsync(server.Client, id, """{"destination_storage_element_id":"nowhere"}"""), 404, TransferErrors.StorageElementNotFound);
        await AssertErrorAsync(await TransferAsync(server.Client, id, """{"destination_storage_element_id":"se3"}"""), 400, TransferErrors.StorageElementReadonly);
        await AssertErrorAsync(await TransferAsync(server.Client, id, """{"destination_storage_element_id":"se1"}"""), 400, IngestErrors.InvalidRequest);
        await AssertErrorAsync(await TransferAsync(server.Client, id, """{"delete_source":true}"""), 400, IngestErrors.InvalidRequest);
        await AssertErrorAsync(await TransferAsync(server.Client, id, """{"destination_storage_element_id":"""), 400, IngestErrors.InvalidRequest);
        await AssertErrorAsync(await TransferAsync(server.Client, Guid.NewGuid().ToString(), """{"destination_storage_element_id":"se2"}"""), 404, IngestErrors.FileNotFound);
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, $"/api/files/transfer/{Guid.NewGuid()}"), 404, TransferErrors.TransferNotFound);

        Assert.Empty(Files(server, "se2"));
        Assert.Equal("se1", Assert.Single(await RecordsAsync(server)).StorageElementId);
    }

    [Fact]
    public async Task Transfer_NeedsTheTransferScope()
    {
        await using var server = await RunningServer.StartAsync(jwt: true, configure: Elements());
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(1000)), Tokens.Hs256("upload")));
        const string body = """{"destination_storage_element_id":"se2","delete_source":true}""";
        await AssertErrorAsync(await TransferAsync(server.Client, uploaded.FileId, body), 401, IngestErrors.Unauthorized);
        await AssertErrorAsync(await TransferAsync(server.Client, uploaded.FileId, body, Tokens.Hs256("upload read delete")), 403, IngestErrors.Forbidden);
        using var accepted = await TransferAsync(server.Client, uploaded.FileId, body, Tokens.Hs256("transfer"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = JsonSerializer.Deserialize(await accepted.Content.ReadAsStringAsync(), TransferJson.Default.TransferBody)!.TransferId;
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, $"/api/files/transfer/{id}", Tokens.Hs256("read")), 403, IngestErrors.Forbidden);
        TransferBody? state = null;
        await Poll.UntilAsync(async () =>
        {
            using var response = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/transfer/{id}", Tokens.Hs256("transfer"));
            state = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), TransferJson.Default.TransferBody);
            return state?.Status is "completed" or "failed";
        }, () => $"the transfer did not end: {state?.Status}");
        Assert.Equal("completed", state!.Status);
    }
}
