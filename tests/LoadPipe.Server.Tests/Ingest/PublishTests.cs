using System.Text.Json;
using LoadPipe.Core.Manifest;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Publishing;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The upload saga's `publish` step over real Redis (Debian's redis-server): a subscriber of
/// `ingest.publish_channel` sees each stored file; an undone upload is announced as removed; while Redis refuses, the
/// event is kept in the manifest and sent once it takes it, with no upload failing.</summary>
public sealed class PublishTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("lp-publish-");
    private readonly string _suffix = Guid.NewGuid().ToString("N");

    private string DiscoveryChannel => $"lp-test:storage-elements:{_suffix}";
    private string FilesChannel => $"lp-test:files:{_suffix}";

    private static RedisAddress SharedRedis() => RedisAddress.Parse("redis://" + (Environment.GetEnvironmentVariable("LP_TEST_REDIS") is { Length: > 0 } a ? a
        : throw new InvalidOperationException("LP_TEST_REDIS is not set: run scripts/test.sh, which starts redis-server")));

    private Task<RunningServer> StartAsync(RedisAddress redis) => RunningServer.StartAsync(configure: s => s with
    {
        Ingest = IngestSettings.From(new IngestConfig { PublishChannel = FilesChannel }, s.Destination) with
        {
            Discovery = new DiscoverySettings(redis, DiscoveryChannel, Path.Combine(_root.FullName, "none.json"))
            {
                RetryDelay = TimeSpan.FromMilliseconds(100), MaxRetryDelay = TimeSpan.FromMilliseconds(200),
            },
        },
    });

    /// <summary>A subscriber of the files channel, subscribed when this returns.</summary>
    private async Task<RespConnection> SubscribeAsync(RedisAddress redis, string? password = null)
    {
        var connection = await RespConnection.ConnectAsync(redis with { Password = password }, TimeSpan.FromSeconds(10), CancellationToken.None);
        await connection.SendAsync(["SUBSCRIBE", FilesChannel], CancellationToken.None);
        Assert.IsType<object?[]>(await connection.ReadAsync(CancellationToken.None));
        return connection;
    }

    private static async Task<FileEvent> NextEventAsync(RespConnection subscriber)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var push = Assert.IsType<object?[]>(await subscriber.ReadAsync(limit.Token));
        Assert.Equal("message", push[0]);
        return JsonSerializer.Deserialize(Assert.IsType<string>(push[2]), IngestJson.Default.FileEvent)!;
    }

    private static async Task<int> KeptAsync(RunningServer server)
    {
        var state = (IAdapterStateStore)await server.Server.Ingest.ManifestAsync(CancellationToken.None);
        var n = 0;
        await foreach (var _ in state.ListStateAsync(FileEventPublisher.OutboxScope)) n++;
        return n;
    }

    [Fact]
    public async Task Upload_Stored_SubscriberSeesFileStored()
    {
        var redis = SharedRedis();
        await using var subscriber = await SubscribeAsync(redis);
        await using var server = await StartAsync(redis);

        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(30_000))));
        var e = await NextEventAsync(subscriber);
        Assert.Equal(FileEvent.Stored, e.Event);
        Assert.Equal(uploaded.FileId, e.FileId);
        Assert.Equal(uploaded.StorageElementId, e.StorageElementId);
        Assert.Equal(uploaded.StorageFilename, e.StorageFilename);
        Assert.Equal(uploaded.Sha256Hash, e.Sha256Hash);
        Assert.Equal(30_000, e.SizeBytes);
        Assert.Equal(0, await KeptAsync(server));
    }

    [Fact]
    public async Task Upload_WebhookFailsAfterPublish_SubscriberSeesStoredThenRemoved()
    {
        var redis = SharedRedis();
        await using var subscriber = await SubscribeAsync(redis);
        await using var server = await StartAsync(redis);
        server.Server.Ingest.Sagas.Faults = (saga, step, _) => saga == "upload" && step == "webhook" ? new IOException("injected failure at webhook") : null;

        using var response = await UploadAsync(server.Client, Form(Pdf(30_000)));
        await AssertErrorAsync(response, 502, IngestErrors.SagaFailed);
        var stored = await NextEventAsync(subscriber);
        var removed = await NextEventAsync(subscriber);
        Assert.Equal(FileEvent.Stored, stored.Event);
        Assert.Equal(FileEvent.Removed, removed.Event);
        Assert.Equal(stored.FileId, removed.FileId);
        Assert.NotEqual(stored.EventId, removed.EventId);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
        var saga = Assert.Single(await ListSagasAsync(server));
        Assert.Equal("compensated", saga.Steps.Single(s => s.Step == "publish").Status);
    }

    [Fact]
    public async Task Upload_RedisRefuses_EventKeptThenSentWhenRedisTakesIt()
    {
        // A Redis that refuses every command until the test lifts its password: the server's PUBLISH fails (NOAUTH).
        const string password = "lp-test-password";
        await using var redis = await OwnRedis.StartAsync(_root.FullName, "--requirepass", password);
        await using var server = await StartAsync(redis.Address);

        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(30_000))));
        Assert.Equal(uploaded.FileId, Assert.Single(await RecordsAsync(server)).FileId);
        Assert.Equal(1, await KeptAsync(server));
        var saga = Assert.Single(await ListSagasAsync(server));
        Assert.Equal("completed", saga.Status);

        await using var subscriber = await SubscribeAsync(redis.Address, password);
        await using (var admin = await RespConnection.ConnectAsync(redis.Address with { Password = password }, TimeSpan.FromSeconds(10), CancellationToken.None))
            Assert.Equal("OK", await admin.CommandAsync(["CONFIG", "SET", "requirepass", ""], CancellationToken.None));

        var e = await NextEventAsync(subscriber);
        Assert.Equal(FileEvent.Stored, e.Event);
        Assert.Equal(uploaded.FileId, e.FileId);
        await Poll.UntilAsync(async () => await KeptAsync(server) == 0, () => "the kept event was never removed from the outbox");
    }

    private static async Task<List<LoadPipe.Server.Ingest.Sagas.SagaRecord>> ListSagasAsync(RunningServer server)
    {
        var all = new List<LoadPipe.Server.Ingest.Sagas.SagaRecord>();
        await foreach (var saga in server.Server.Ingest.Sagas.ListAsync()) all.Add(saga);
        return all;
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
