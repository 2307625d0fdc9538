using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>Storage element discovery over real Redis pub/sub (Debian's redis-server): a published list applies live,
/// and the fallback file applies when Redis goes away, with no upload failing meanwhile.</summary>
public sealed class DiscoveryTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("lp-discovery-");
    private readonly string _channel = $"lp-test:storage-elements:{Guid.NewGuid():N}";

    private string Folder(string name) => Path.Combine(_root.FullName, name) + "/";

    private static RedisAddress SharedRedis()
    {
        var address = Environment.GetEnvironmentVariable("LP_TEST_REDIS") is { Length: > 0 } a ? a
            : throw new InvalidOperationException("LP_TEST_REDIS is not set: run scripts/test.sh, which starts redis-server");
        return RedisAddress.Parse("redis://" + address);
    }

    private Task<RunningServer> StartAsync(RedisAddress redis, string fallbackFile) => RunningServer.StartAsync(configure: s => s with
    {
        Ingest = IngestSettings.From(new IngestConfig
        {
            StorageElements = [new StorageElementConfig { Id = "se-config", Location = Folder("se-config"), Mode = "edit" }],
        }, s.Destination) with
        {
            Discovery = new DiscoverySettings(redis, _channel, fallbackFile) { RetryDelay = TimeSpan.FromMilliseconds(200) },
        },
    });

    private static string List(params (string Id, string Location)[] elements) =>
        "[" + string.Join(",", elements.Select(e => $$"""{"id":"{{e.Id}}","location":"{{e.Location}}","mode":"edit","capacity":"1G"}""")) + "]";

    /// <summary>Publishes until a subscriber got it (PUBLISH answers how many did): the server subscribes in the background.</summary>
    private async Task PublishAsync(RedisAddress redis, string message)
    {
        await using var connection = await RespConnection.ConnectAsync(redis, TimeSpan.FromSeconds(10), CancellationToken.None);
        long receivers = 0;
        await Poll.UntilAsync(async () =>
        {
            receivers = (long)(await connection.CommandAsync(["PUBLISH", _channel, message], CancellationToken.None))!;
            return receivers > 0;
        }, () => $"no subscriber on {_channel}");
    }

    private static async Task<string> UploadedToAsync(RunningServer server) =>
        (await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(20_000))))).StorageElementId;

    private static Task WaitForElementAsync(RunningServer server, string id) =>
        Poll.UntilAsync(() => Task.FromResult(server.Server.Ingest.Elements.All.Any(e => e.Id == id)), () => $"element {id} never listed");

    [Fact]
    public async Task Publish_NewElementList_NextUploadGoesToTheNewElement()
    {
        var redis = SharedRedis();
        await using var server = await StartAsync(redis, Path.Combine(_root.FullName, "no-fallback.json"));
        var first = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(20_000))));
        Assert.Equal("se-config", first.StorageElementId);

        await PublishAsync(redis, List(("se-new", Folder("se-new"))));
        await WaitForElementAsync(server, "se-new");

        var second = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(20_000))));
        Assert.Equal("se-new", second.StorageElementId);
        Assert.True(File.Exists(Path.Combine(Folder("se-new"), second.StorageFilename)));
        Assert.Equal(["se-new"], server.Server.Ingest.Elements.All.Select(e => e.Id));
        // A file on an element the list left out stays readable.
        using var old = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{first.FileId}/content");
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);

        // A list that cannot be read is ignored: the one in force stays.
        await PublishAsync(redis, """[{"id":"broken"}]""");
        Assert.Equal("se-new", await UploadedToAsync(server));
    }

    [Fact]
    public async Task RedisStops_FallbackFileApplies_WithNoFailedUpload()
    {
        await using var redisServer = await OwnRedis.StartAsync(_root.FullName);
        var fallback = Path.Combine(_root.FullName, "storage-elements.json");
        await File.WriteAllTextAsync(fallback, List(("se-fallback", Folder("se-fallback"))));
        await using var server = await StartAsync(redisServer.Address, fallback);

        await PublishAsync(redisServer.Address, List(("se-redis", Folder("se-redis"))));
        await WaitForElementAsync(server, "se-redis");
        Assert.Equal("se-redis", await UploadedToAsync(server));

        // Uploads keep coming while Redis dies; none may fail.
        using var stop = new CancellationTokenSource();
        var uploads = Task.Run(async () =>
        {
            var elements = new List<string>();
            while (!stop.IsCancellationRequested) elements.Add(await UploadedToAsync(server));
            return elements;
        });
        await redisServer.KillAsync();
        await WaitForElementAsync(server, "se-fallback");
        await stop.CancelAsync();
        var during = await uploads;
        Assert.All(during, e => Assert.Contains(e, (string[])["se-redis", "se-fallback"]));

        Assert.Equal("se-fallback", await UploadedToAsync(server));
        Assert.Equal(["se-fallback"], server.Server.Ingest.Elements.All.Select(e => e.Id));
    }

    [Fact]
    public void Parse_TheConfigShape_ReadsEveryField()
    {
        var list = StorageElementList.Parse("""{"storage_elements":[{"id":"se1","location":"/srv/se1/","mode":"rw","capacity":"100G","region":"eu"},{"id":"se2","location":"s3r:b/se2/","capacity":1024}]}""");
        Assert.Equal(2, list.Count);
        Assert.Equal(100L << 30, list[0].Capacity);
        Assert.Equal("eu", list[0].Region);
        Assert.Equal("rw", list[1].Mode);
        Assert.Equal(1024, list[1].Capacity);
        foreach (var bad in (string[])["{", "[1]", """[{"id":"a"}]""", """[{"id":"a","location":"/x/","mode":"rx"}]""",
                     """[{"id":"a","location":"/x/"},{"id":"a","location":"/y/"}]""", """[{"id":"a","location":"/x/","size":1}]"""])
            Assert.Throws<LoadPipe.Core.Errors.LoadPipeException>(() => StorageElementList.Parse(bad));
    }

    [Fact]
    public void RedisAddress_Parse_TakesHostPortAndPassword()
    {
        Assert.Equal(new RedisAddress("localhost", 6379, null, null), RedisAddress.Parse("redis://localhost:6379/0"));
        Assert.Equal(new RedisAddress("10.0.0.5", 6380, null, "s3cret"), RedisAddress.Parse("redis://:s3cret@10.0.0.5:6380"));
        Assert.Equal(6379, RedisAddress.Parse("redis://cache").Port);
        Assert.DoesNotContain("s3cret", RedisAddress.Parse("redis://:s3cret@h:1").ToString(), StringComparison.Ordinal);
        Assert.Throws<LoadPipe.Core.Errors.LoadPipeException>(() => RedisAddress.Parse("http://cache:6379"));
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
