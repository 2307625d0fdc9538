using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Sagas;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The upload and delete sagas: a failure injected at each step, retried up to saga_retry_max_attempts, then
/// undone so that nothing stays half-done; each saga recorded for audit. And the audit log of file operations.</summary>
public sealed class SagaTests
{
    internal static Func<ServerSettings, ServerSettings> Ingest(Func<IngestSettings, IngestSettings> change) => s =>
        s with { Ingest = change(IngestSettings.From(new IngestConfig(), s.Destination)) };

    internal static async Task<List<SagaRecord>> SagasAsync(RunningServer server)
    {
        var all = new List<SagaRecord>();
        await foreach (var saga in server.Server.Ingest.Sagas.ListAsync()) all.Add(saga);
        return all;
    }

    [Theory]
    [InlineData("store")]
    [InlineData("attr.json")]
    [InlineData("record")]
    [InlineData("publish")]
    [InlineData("webhook")]
    public async Task Upload_StepThatKeepsFailing_UndoesEveryStepAndLeavesNothing(string failing)
    {
        await using var server = await RunningServer.StartAsync();
        var attempts = 0;
        server.Server.Ingest.Sagas.Faults = (saga, step, _) =>
            saga == "upload" && step == failing && ++attempts > 0 ? new IOException($"injected failure at {step}") : null;

        using var response = await UploadAsync(server.Client, Form(Pdf(100_000)));
        await AssertErrorAsync(response, 502, IngestErrors.SagaFailed);
        Assert.Equal(3, attempts);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));

        var saga = Assert.Single(await SagasAsync(server));
        Assert.Equal("upload", saga.Saga);
        Assert.Equal("compensated", saga.Status);
        var steps = saga.Steps.ToDictionary(s => s.Step);
        Assert.Equal(["validate", "select", "store", "attr.json", "record", "publish", "webhook"], saga.Steps.Select(s => s.Step));
        Assert.Equal("failed", steps[failing].Status);
        Assert.Equal(3, steps[failing].Attempts);
        var before = saga.Steps.SkipWhile(s => s.Step != "store").TakeWhile(s => s.Step != failing).ToList();
        Assert.All(before, s => Assert.Contains(s.Status, (string[])["compensated", "done"]));
        Assert.All(saga.Steps.SkipWhile(s => s.Step != failing).Skip(1), s => Assert.Equal("skipped", s.Status));
    }

    [Fact]
    public async Task Upload_StepFailingOnce_IsRetriedAndTheUploadSucceeds()
    {
        await using var server = await RunningServer.StartAsync();
        server.Server.Ingest.Sagas.Faults = (_, step, attempt) => step == "record" && attempt == 1 ? new IOException("injected, once") : null;
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(10_000))));
        Assert.Equal(uploaded.FileId, Assert.Single(await RecordsAsync(server)).FileId);
        var saga = Assert.Single(await SagasAsync(server));
        Assert.Equal("completed", saga.Status);
        Assert.Equal(2, saga.Steps.Single(s => s.Step == "record").Attempts);
    }

    [Fact]
    public async Task Upload_WebhookThatDoesNotAnswer_UndoesTheUpload()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { WebhookUrl = new Uri($"http://127.0.0.1:{port}/hook") }));
        using var response = await UploadAsync(server.Client, Form(Pdf(10_000)));
        await AssertErrorAsync(response, 502, IngestErrors.SagaFailed);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Theory]
    [InlineData("attr.json")]
    [InlineData("record")]
    [InlineData("file")]
    public async Task Delete_StepThatKeepsFailing_PutsEverythingBack(string failing)
    {
        await using var server = await RunningServer.StartAsync();
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(10_000))));
        var before = server.StoredFiles();
        var sidecar = await File.ReadAllTextAsync(Path.Combine(server.Destination, uploaded.StorageFilename + ".attr.json"));
        server.Server.Ingest.Sagas.Faults = (saga, step, _) => saga == "delete" && step == failing ? new IOException("injected") : null;

        using var delete = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}");
        await AssertErrorAsync(delete, 502, IngestErrors.SagaFailed);
        Assert.Equal(before, server.StoredFiles());
        Assert.Equal(sidecar, await File.ReadAllTextAsync(Path.Combine(server.Destination, uploaded.StorageFilename + ".attr.json")));
        Assert.Equal(uploaded.FileId, Assert.Single(await RecordsAsync(server)).FileId);
        Assert.Equal("compensated", (await SagasAsync(server)).Single(s => s.Saga == "delete").Status);

        server.Server.Ingest.Sagas.Faults = null;
        using var again = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}");
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task AuditLog_HasOneJsonLinePerFileOperation_WithoutTheToken()
    {
        var log = Path.Combine(Path.GetTempPath(), $"lp-audit-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using var server = await RunningServer.StartAsync(jwt: true, configure: Ingest(i => i with { AuditLog = log }));
            var token = Tokens.Hs256("upload read delete");
            var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(1000)), token));
            (await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content", token)).Dispose();
            (await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}", token)).Dispose();
            (await UploadAsync(server.Client, Form(Pdf(1000), "../x.pdf"), token)).Dispose();

            var text = await File.ReadAllTextAsync(log);
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(["upload:success", "download:success", "delete:success", "upload:failure"],
                lines.Select(l => l.GetProperty("action").GetString() + ":" + l.GetProperty("result").GetString()));
            Assert.All(lines, l => Assert.Equal("tester", l.GetProperty("actor").GetString()));
            Assert.Equal(uploaded.FileId, lines[2].GetProperty("file_id").GetString());
            Assert.Equal(IngestErrors.InvalidFilename, lines[3].GetProperty("error").GetString());
        }
        finally
        {
            File.Delete(log);
        }
    }
}
