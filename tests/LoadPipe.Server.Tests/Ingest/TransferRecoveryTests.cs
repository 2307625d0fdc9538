using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Transfers;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>A transfer interrupted by a server stop is not left in_progress: the next server on the same manifest and
/// elements takes it over at start and finishes it, or marks it failed (transfer_interrupted) when it cannot.</summary>
public sealed class TransferRecoveryTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("lp-transfer-recovery-");

    private string Manifest => Path.Combine(_root.FullName, "manifest.db");
    private string Folder(string element) => Path.Combine(_root.FullName, element);

    private Task<RunningServer> StartAsync(bool withSe2 = true, string? manifest = null, bool withSe1 = true) => RunningServer.StartAsync(manifest: manifest ?? Manifest, configure: s => s with
    {
        Ingest = IngestSettings.From(new IngestConfig
        {
            StorageElements =
            [
                .. withSe1 ? [new StorageElementConfig { Id = "se1", Location = Folder("se1") + "/", Mode = "edit", Region = "here" }] : Array.Empty<StorageElementConfig>(),
                .. withSe2 ? [new StorageElementConfig { Id = "se2", Location = Folder("se2") + "/", Mode = "rw" }] : Array.Empty<StorageElementConfig>(),
            ],
            PreferredRegion = "here",
            HealthCheckInterval = TimeSpan.FromDays(1),
        }, s.Destination),
    });

    private static IReadOnlyList<string> Files(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder).Select(f => Path.GetFileName(f)).Order().ToList() : [];

    /// <summary>Uploads a file to se1 on <paramref name="server"/>, starts its move to se2 and holds the saga at
    /// <paramref name="step"/>; returns the file and the transfer once it is held there.</summary>
    private static async Task<(UploadedBodyAndBytes File, TransferBody Transfer)> StartHeldAsync(RunningServer server, string step)
    {
        var bytes = Pdf(600_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes)));
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Server.Ingest.Sagas.Pause = async (saga, name, ct) =>
        {
            if (saga != "transfer" || name != step) return;
            held.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        };
        using var started = await server.Client.PostAsync($"/api/files/{uploaded.FileId}/transfer",
            new StringContent("""{"destination_storage_element_id":"se2","delete_source":true,"verify_checksum":true}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var transfer = JsonSerializer.Deserialize(await started.Content.ReadAsStringAsync(), TransferJson.Default.TransferBody)!;
        await held.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return (new UploadedBodyAndBytes(uploaded.FileId, uploaded.StorageFilename, bytes), transfer);
    }

    private sealed record UploadedBodyAndBytes(string FileId, string StorageFilename, byte[] Bytes);

    private static async Task<TransferBody> StateAsync(RunningServer server, string transferId)
    {
        using var response = await server.Client.GetAsync($"/api/files/transfer/{transferId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), TransferJson.Default.TransferBody)!;
    }

    private static async Task<TransferBody> EndedAsync(RunningServer server, string transferId)
    {
        TransferBody? state = null;
        await Poll.UntilAsync(async () => (state = await StateAsync(server, transferId)).Status is "completed" or "failed",
            () => $"the transfer did not end: {state?.Status}");
        return state!;
    }

    [Theory]
    [InlineData("copy")]
    [InlineData("verify")]
    [InlineData("source file")]
    public async Task Move_ServerStoppedMidTransfer_NextServerFinishesIt(string step)
    {
        UploadedBodyAndBytes file;
        TransferBody transfer;
        await using (var before = await StartAsync())
        {
            (file, transfer) = await StartHeldAsync(before, step);
            Assert.Contains((await StateAsync(before, transfer.TransferId)).Status, (string[])["in_progress", "verifying"]);
        }

        await using var after = await StartAsync();
        var done = await EndedAsync(after, transfer.TransferId);
        Assert.True(done.Status == "completed", $"{done.Error}: {done.Message}");
        Assert.Equal([file.StorageFilename, file.StorageFilename + ".attr.json"], Files(Folder("se2")));
        Assert.Empty(Files(Folder("se1")));
        Assert.Equal(Hex(SHA256.HashData(file.Bytes)), Hex(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(Folder("se2"), file.StorageFilename)))));
        var record = Assert.Single(await RecordsAsync(after));
        Assert.Equal((file.FileId, "se2"), (record.FileId, record.StorageElementId));
        using var content = await after.Client.GetAsync($"/api/files/{file.FileId}/content");
        Assert.Equal(file.Bytes, await content.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Move_ServerStoppedMidTransfer_DestinationGone_MarkedFailedAndRetryable()
    {
        UploadedBodyAndBytes file;
        TransferBody transfer;
        await using (var before = await StartAsync())
            (file, transfer) = await StartHeldAsync(before, "verify");

        // The next server has no se2: the transfer cannot go on.
        await using var after = await StartAsync(withSe2: false);
        var done = await EndedAsync(after, transfer.TransferId);
        Assert.Equal("failed", done.Status);
        Assert.Equal(FileTransfers.Interrupted, done.Error);
        var record = Assert.Single(await RecordsAsync(after));
        Assert.Equal((file.FileId, "se1"), (record.FileId, record.StorageElementId));
        Assert.Contains(file.StorageFilename, Files(Folder("se1")));
        using var content = await after.Client.GetAsync($"/api/files/{file.FileId}/content");
        Assert.Equal(file.Bytes, await content.Content.ReadAsByteArrayAsync());
    }

    /// <summary>The source's element is gone at the restart: the transfer is marked failed, and the copy made before the
    /// stop does not stay at the destination (it is removed, as the saga's undo would have).</summary>
    [Fact]
    public async Task Move_ServerStoppedAfterTheCopy_SourceGone_MarkedFailedAndTheCopyRemoved()
    {
        UploadedBodyAndBytes file;
        TransferBody transfer;
        await using (var before = await StartAsync())
            (file, transfer) = await StartHeldAsync(before, "attr.json");
        Assert.Equal([file.StorageFilename], Files(Folder("se2")));

        await using var after = await StartAsync(withSe1: false);
        var done = await EndedAsync(after, transfer.TransferId);
        Assert.Equal((("failed", FileTransfers.Interrupted)), (done.Status, done.Error));
        Assert.Empty(Files(Folder("se2")));
        Assert.Equal([file.StorageFilename, file.StorageFilename + ".attr.json"], Files(Folder("se1")));
        var record = Assert.Single(await RecordsAsync(after));
        Assert.Equal((file.FileId, "se1"), (record.FileId, record.StorageElementId));
    }

    /// <summary>Two servers on one PostgreSQL manifest start at once after a stop, and both look for interrupted
    /// transfers at their start: exactly one of them takes the transfer over, and it completes. (Their start-up
    /// recoveries rarely overlap in time: this test also passed with the claim removed; the claim's atomicity rests on
    /// IAdapterStateStore.TryAddAsync, whose contract test races it on both manifests.)</summary>
    [Fact]
    public async Task Move_TwoServersTakingOverAtOnce_ExactlyOneRunsIt()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        UploadedBodyAndBytes file;
        TransferBody transfer;
        await using (var before = await StartAsync(manifest: database.ConnectionString))
            (file, transfer) = await StartHeldAsync(before, "verify");

        var servers = await Task.WhenAll(StartAsync(manifest: database.ConnectionString), StartAsync(manifest: database.ConnectionString));
        await using var first = servers[0];
        await using var second = servers[1];
        var done = await EndedAsync(first, transfer.TransferId);
        Assert.True(done.Status == "completed", $"{done.Error}: {done.Message}");
        Assert.Equal(1, first.Server.Ingest.Transfers!.TakenOver + second.Server.Ingest.Transfers!.TakenOver);
        Assert.Equal([file.StorageFilename, file.StorageFilename + ".attr.json"], Files(Folder("se2")));
        Assert.Empty(Files(Folder("se1")));
        var record = Assert.Single(await RecordsAsync(second));
        Assert.Equal((file.FileId, "se2"), (record.FileId, record.StorageElementId));
    }

    public void Dispose()
    {
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
