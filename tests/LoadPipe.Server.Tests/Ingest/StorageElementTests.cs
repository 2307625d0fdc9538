using System.Net;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>Storage elements: selection by strategy, mode and region; health checks; the circuit breaker; the state
/// `GET /api/storage-elements` shows. Over real HTTP, with local folders as elements.</summary>
public sealed class StorageElementTests
{
    private static Func<ServerSettings, ServerSettings> Elements(string strategy, Func<string, StorageElementConfig[]> elements, string? region = null) => s =>
        s with
        {
            Ingest = IngestSettings.From(new IngestConfig
            {
                StorageElements = elements(Path.GetDirectoryName(s.Destination.TrimEnd('/'))!),
                StorageSelection = strategy,
                PreferredRegion = region,
                // Checks past the first run only when a test calls them, so that advancing a fake clock does not race them.
                HealthCheckInterval = TimeSpan.FromDays(1),
            }, s.Destination),
        };

    private static StorageElementConfig Element(string root, string id, string mode = "rw", long? capacity = null, string? region = null) =>
        new() { Id = id, Location = Path.Combine(root, id) + "/", Mode = mode, Capacity = capacity, Region = region };

    private static async Task<List<string>> UploadManyAsync(RunningServer server, int count, int size = 1000)
    {
        var chosen = new List<string>();
        for (var i = 0; i < count; i++) chosen.Add((await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(size))))).StorageElementId);
        return chosen;
    }

    [Fact]
    public async Task RoundRobin_TakesTheWritableElementsInTurn()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements("round_robin", root =>
            [Element(root, "se1"), Element(root, "se2", "edit"), Element(root, "se3", "ro"), Element(root, "se4", "ar")]));
        var chosen = await UploadManyAsync(server, 6);
        Assert.Equal(3, chosen.Count(c => c == "se1"));
        Assert.Equal(3, chosen.Count(c => c == "se2"));
        Assert.All(chosen.Zip(chosen.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
    }

    [Fact]
    public async Task LeastUsed_TakesTheElementWithTheLowestFill()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements("least_used", root =>
            [Element(root, "se1", capacity: 100_000), Element(root, "se2", capacity: 10_000_000)]));
        // Both empty: the first; then se1 is half full and se2 nearly empty, so se2 until it is fuller than se1.
        Assert.Equal(["se1", "se2", "se2"], await UploadManyAsync(server, 3, size: 50_000));
    }

    [Fact]
    public async Task PreferredRegion_IsChosenWhileOneOfItsElementsIsAvailable()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements("round_robin", root =>
            [Element(root, "us1", region: "us"), Element(root, "eu1", region: "eu"), Element(root, "eu2", region: "eu")], region: "eu"));
        Assert.All(await UploadManyAsync(server, 4), id => Assert.StartsWith("eu", id, StringComparison.Ordinal));
        var root = Path.GetDirectoryName(server.Destination)!;
        server.Server.Ingest.Elements.Replace([Element(root, "us1", region: "us"), Element(root, "eu1", "ro", region: "eu"), Element(root, "eu2", "ar", region: "eu")]);
        Assert.Equal(["us1", "us1"], await UploadManyAsync(server, 2));
    }

    [Fact]
    public async Task Upload_WithNoWritableElement_Answers503()
    {
        await using var server = await RunningServer.StartAsync(configure: Elements("least_used", root => [Element(root, "se1", "ro"), Element(root, "se2", "ar")]));
        await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(1000))), 503, IngestErrors.NoStorageAvailable);
    }

    [Fact]
    public async Task Upload_WhenTheChosenElementFails_GoesToAnotherAndCountsTheFailure()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string? blocker = null;
        await using var server = await RunningServer.StartAsync(time: time, configure: Elements("round_robin", root =>
        {
            // se1's folder cannot be made: a file stands where its parent folder should be.
            blocker = Path.Combine(root, "blocked");
            File.WriteAllText(blocker, "");
            return [new StorageElementConfig { Id = "se1", Location = Path.Combine(blocker, "se1") + "/", Mode = "rw" }, Element(root, "se2")];
        }));
        var se1 = server.Server.Ingest.Elements.Find("se1")!;
        // The checker's first round runs at start; wait for it, so that what follows does not race it.
        await Poll.UntilAsync(() => Task.FromResult(se1.LastCheckAt is not null), () => "se1 was never checked");
        Assert.False(se1.Healthy);
        Assert.Equal(["se2", "se2", "se2"], await UploadManyAsync(server, 3));

        // Failed checks in a row open its breaker (threshold 5): then it is not even asked.
        for (var i = 0; i < 4; i++) await server.Server.Ingest.Elements.CheckAllAsync(CancellationToken.None);
        Assert.Equal("open", se1.BreakerState);
        using var listed = await SendAsync(server.Client, HttpMethod.Get, "/api/storage-elements");
        var state = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.GetProperty("storage_elements")
            .EnumerateArray().Single(e => e.GetProperty("id").GetString() == "se1");
        Assert.Equal("open", state.GetProperty("circuit_breaker_state").GetString());
        Assert.False(state.GetProperty("healthy").GetBoolean());

        // Mended, it stays out while its breaker is open, and comes back after the break and two passed checks.
        File.Delete(blocker!);
        await server.Server.Ingest.Elements.CheckAllAsync(CancellationToken.None);
        Assert.False(se1.Healthy);
        time.Advance(TimeSpan.FromSeconds(61));
        await server.Server.Ingest.Elements.CheckAllAsync(CancellationToken.None);
        Assert.Equal("closed", se1.BreakerState);
        Assert.False(se1.Healthy);
        await server.Server.Ingest.Elements.CheckAllAsync(CancellationToken.None);
        Assert.True(se1.Healthy);
        Assert.Contains("se1", await UploadManyAsync(server, 2));
    }

    [Fact]
    public async Task Upload_WhenTheChosenElementFailsBeforeTheBody_GoesToAnotherUntilItsBreakerOpens()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: Elements("round_robin", root => [Element(root, "se1"), Element(root, "se2")]));
        var elements = server.Server.Ingest.Elements;
        await Poll.UntilAsync(() => Task.FromResult(elements.All.All(e => e.LastCheckAt is not null)), () => "the elements were never checked");
        // A new element, not checked yet (so taken as healthy), whose folder cannot be made: each upload given to it
        // fails before a byte of the body is read, and goes to se2.
        var root = Path.GetDirectoryName(server.Destination)!;
        var blocker = Path.Combine(root, "blocked");
        await File.WriteAllTextAsync(blocker, "");
        elements.Replace([new StorageElementConfig { Id = "bad", Location = Path.Combine(blocker, "bad") + "/", Mode = "rw" }, Element(root, "se2")]);
        var bad = elements.Find("bad")!;
        var chosen = new List<string>();
        while (bad.BreakerState != "open")
        {
            Assert.True(chosen.Count < 40, "the breaker of the failing element never opened");
            chosen.AddRange(await UploadManyAsync(server, 1));
        }
        Assert.All(chosen, id => Assert.Equal("se2", id));
        Assert.True(bad.Healthy, "no health check ran: the breaker opened on the uploads' failures");
        Assert.Equal(chosen.Count, Directory.GetFiles(Path.Combine(root, "se2"), "*.pdf").Length);
    }

    [Fact]
    public async Task StorageElements_ShowEachElementsStateAndUsage()
    {
        await using var server = await RunningServer.StartAsync(jwt: true, configure: Elements("least_used", root =>
            [Element(root, "se1", "edit", capacity: 1 << 30, region: "eu"), Element(root, "se2", "ro")]));
        await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(12_345)), Tokens.Hs256("upload")));
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, "/api/storage-elements", Tokens.Hs256("upload")), 403, IngestErrors.Forbidden);
        using var response = await SendAsync(server.Client, HttpMethod.Get, "/api/storage-elements", Tokens.Hs256("read"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var elements = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("storage_elements").EnumerateArray().ToList();
        Assert.Equal(["se1", "se2"], elements.Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(12_345, elements[0].GetProperty("used_bytes").GetInt64());
        Assert.Equal(1L << 30, elements[0].GetProperty("capacity_bytes").GetInt64());
        Assert.Equal("eu", elements[0].GetProperty("region").GetString());
        Assert.True(elements[0].GetProperty("available").GetBoolean());
        Assert.False(elements[1].GetProperty("available").GetBoolean());
        Assert.Equal("closed", elements[1].GetProperty("circuit_breaker_state").GetString());
    }
}
