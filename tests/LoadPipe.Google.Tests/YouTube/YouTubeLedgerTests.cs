using LoadPipe.Core.Manifest;
using LoadPipe.Google.Tests.YouTube.Support;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.YouTube;

namespace LoadPipe.Google.Tests.YouTube;

/// <summary>The sink's quota ledger and upload history (<see cref="YouTubeLedger"/>) over a manifest's adapter state.</summary>
public sealed class YouTubeLedgerTests : IAsyncLifetime
{
    private static readonly DateOnly Day1 = new(2026, 11, 23);
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

    private readonly LocalFolder _dir = new();
    private SqliteManifest? _manifest;

    private YouTubeLedger Ledger => new(_manifest!);

    public async Task InitializeAsync() => _manifest = await SqliteManifest.OpenAsync(_dir["state/manifest.db"]);

    public async Task DisposeAsync()
    {
        if (_manifest is not null) await _manifest.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task TrySpendQuota_PerAccountAndDay_UpToTheBudget()
    {
        var first = await Ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        var second = await Ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        var third = await Ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        var nextDay = await Ledger.TrySpendQuotaAsync("yt", Day1.AddDays(1), 1600, 3200);
        var otherAccount = await Ledger.TrySpendQuotaAsync("other", Day1, 1, 6);

        Assert.Equal([new CounterAdd(true, 1600), new CounterAdd(true, 3200), new CounterAdd(false, 3200)], [first, second, third]);
        Assert.Equal((new CounterAdd(true, 1600), new CounterAdd(true, 1)), (nextDay, otherAccount));
        Assert.Equal(3200, await Ledger.GetQuotaSpentAsync("yt", Day1));
        Assert.Equal(0, await Ledger.GetQuotaSpentAsync("yt", Day1.AddDays(2)));
    }

    [Fact]
    public async Task MarkQuotaSpent_RaisesButNeverLowers()
    {
        await Ledger.TrySpendQuotaAsync("yt", Day1, 1600, 10_000);

        var full = await Ledger.MarkQuotaSpentAsync("yt", Day1, 10_000);
        var notLowered = await Ledger.MarkQuotaSpentAsync("yt", Day1, 5);
        await Ledger.MarkQuotaSpentAsync("yt", Day1.AddDays(1), 7);

        Assert.Equal((10_000L, 10_000L), (full, notLowered));
        Assert.Equal(7, await Ledger.GetQuotaSpentAsync("yt", Day1.AddDays(1)));
        Assert.False((await Ledger.TrySpendQuotaAsync("yt", Day1, 1600, 10_000)).Added);
    }

    [Fact]
    public async Task RecordUpload_FoundByMd5AnyCase_SurvivesReopen()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123);
        await Ledger.RecordUploadAsync(new UploadRecord("yt", "ABCDEF0123", "vid1", "gdrive:Videos/talk.mp4", 1234, "talk", at));
        await _manifest!.DisposeAsync();
        _manifest = await SqliteManifest.OpenAsync(_dir["state/manifest.db"]);

        var found = await Ledger.FindUploadAsync("yt", "abcdef0123");

        Assert.Equal(new UploadRecord("yt", "abcdef0123", "vid1", "gdrive:Videos/talk.mp4", 1234, "talk", at), found);
        Assert.Null(await Ledger.FindUploadAsync("other", "abcdef0123"));
        Assert.Null(await Ledger.FindUploadAsync("yt", "0000"));
    }

    [Fact]
    public async Task RecordUpload_SameMd5Again_ReplacesTheRecord()
    {
        await Ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid1", "a.mp4", 1, null, At));

        await Ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid2", "b.mp4", 1, "b", At.AddHours(1)));

        Assert.Equal("vid2", (await Ledger.FindUploadAsync("yt", "aa"))!.RemoteId);
        Assert.Single(await Ledger.ListUploadsAsync("yt").ToListAsync());
    }

    [Fact]
    public async Task ForgetUpload_ByVideoId_OnlyThatOne()
    {
        await Ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid1", "a.mp4", 1, null, At));
        await Ledger.RecordUploadAsync(new UploadRecord("yt", "bb", "vid2", "b.mp4", 2, null, At.AddMinutes(1)));
        await Ledger.RecordUploadAsync(new UploadRecord("other", "aa", "vid1", "a.mp4", 1, null, At));

        await Ledger.ForgetUploadAsync("yt", "vid1");

        Assert.Null(await Ledger.FindUploadAsync("yt", "aa"));
        Assert.NotNull(await Ledger.FindUploadAsync("yt", "bb"));
        Assert.NotNull(await Ledger.FindUploadAsync("other", "aa"));
    }

    [Fact]
    public async Task ListUploads_NewestFirst_OfThatAccount()
    {
        await Ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid1", "a.mp4", 1, null, At));
        await Ledger.RecordUploadAsync(new UploadRecord("yt", "bb", "vid2", "b.mp4", 2, null, At.AddMinutes(1)));
        await Ledger.RecordUploadAsync(new UploadRecord("other", "cc", "vid3", "c.mp4", 3, null, At.AddMinutes(2)));

        var listed = await Ledger.ListUploadsAsync("yt").ToListAsync();

        Assert.Equal(["vid2", "vid1"], listed.Select(u => u.RemoteId));
    }

    [Theory]
    [InlineData("""{"videoId":"vid1","source":"a.mp4","size":1234,"title":"talk","uploadedAt":1790000000123}""")]
    [InlineData("""{"videoId" : "vid1", "source" : "a.mp4", "size" : 1234, "title" : "talk", "uploadedAt" : 1790000000123}""")]
    public async Task FindUpload_RowMovedByTheManifestMigration_Read(string migrated)
    {
        // What SQLite's json_object and PostgreSQL's json_build_object write for a former upload_history row.
        await _manifest!.PutStateAsync("yt", "upload/abc", migrated);
        await _manifest.PutStateAsync("yt-units", "quota/2026-11-23", "3200");

        var found = await Ledger.FindUploadAsync("yt", "ABC");

        Assert.Equal(new UploadRecord("yt", "abc", "vid1", "a.mp4", 1234, "talk", DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123)), found);
        Assert.Equal(3200, await Ledger.GetQuotaSpentAsync("yt-units", Day1));
    }
}
