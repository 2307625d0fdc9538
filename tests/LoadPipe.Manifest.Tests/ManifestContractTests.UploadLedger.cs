using LoadPipe.Core.Manifest;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Manifest.Tests;

/// <summary>The <see cref="IUploadLedger"/> part of the contract: quota per account and day, the upload history.</summary>
public abstract partial class ManifestContractTests
{
    private static readonly DateOnly Day1 = new(2026, 11, 23);

    private async Task<IUploadLedger> OpenLedgerAsync(TimeProvider? time = null)
    {
        var manifest = await OpenAsync(time);
        _opened.Add(manifest);
        return Assert.IsAssignableFrom<IUploadLedger>(manifest);
    }

    private readonly List<IManifest> _opened = [];

    private async Task CloseLedgersAsync()
    {
        foreach (var m in _opened) await m.DisposeAsync();
        _opened.Clear();
    }

    [Fact]
    public async Task TrySpendQuota_UpToTheBudget_ThenRefusedWithoutChange()
    {
        var ledger = await OpenLedgerAsync();

        var first = await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        var second = await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        var third = await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);

        Assert.Equal(new QuotaSpend(true, 1600), first);
        Assert.Equal(new QuotaSpend(true, 3200), second);
        Assert.Equal(new QuotaSpend(false, 3200), third);
        Assert.Equal(3200, await ledger.GetQuotaSpentAsync("yt", Day1));
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task TrySpendQuota_MoreThanTheBudgetOnAFreshDay_RefusedAndNothingRecorded()
    {
        var ledger = await OpenLedgerAsync();

        var spend = await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 1000);

        Assert.Equal(new QuotaSpend(false, 0), spend);
        Assert.Equal(0, await ledger.GetQuotaSpentAsync("yt", Day1));
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task TrySpendQuota_OneRowPerAccountAndDay_Apart()
    {
        var ledger = await OpenLedgerAsync();

        await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 3200);
        var nextDay = await ledger.TrySpendQuotaAsync("yt", Day1.AddDays(1), 1600, 3200);
        var otherAccount = await ledger.TrySpendQuotaAsync("other", Day1, 1, 6);

        Assert.Equal(new QuotaSpend(true, 1600), nextDay);
        Assert.Equal(new QuotaSpend(true, 1), otherAccount);
        Assert.Equal(3200, await ledger.GetQuotaSpentAsync("yt", Day1));
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task TrySpendQuota_ManySpendersAtOnceOverInstances_NeverPassTheBudget()
    {
        var ledgers = new List<IUploadLedger>();
        for (var i = 0; i < 4; i++) ledgers.Add(await OpenLedgerAsync());

        var spends = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => ledgers[i % 4].TrySpendQuotaAsync("yt", Day1, 1600, 10_000))));

        Assert.Equal(6, spends.Count(s => s.Spent));
        Assert.Equal(9600, await ledgers[0].GetQuotaSpentAsync("yt", Day1));
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task MarkQuotaSpent_RaisesButNeverLowers()
    {
        var ledger = await OpenLedgerAsync();
        await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 10_000);

        await ledger.MarkQuotaSpentAsync("yt", Day1, 10_000);
        await ledger.MarkQuotaSpentAsync("yt", Day1, 5);
        await ledger.MarkQuotaSpentAsync("yt", Day1.AddDays(1), 7);

        Assert.Equal(10_000, await ledger.GetQuotaSpentAsync("yt", Day1));
        Assert.Equal(7, await ledger.GetQuotaSpentAsync("yt", Day1.AddDays(1)));
        Assert.False((await ledger.TrySpendQuotaAsync("yt", Day1, 1600, 10_000)).Spent);
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task RecordUpload_FoundByMd5AnyCase_SurvivesReopen()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123);
        var ledger = await OpenLedgerAsync();
        await ledger.RecordUploadAsync(new UploadRecord("yt", "ABCDEF0123", "vid1", "gdrive:Videos/talk.mp4", 1234, "talk", at));
        await CloseLedgersAsync();

        var reopened = await OpenLedgerAsync();
        var found = await reopened.FindUploadAsync("yt", "abcdef0123");

        Assert.Equal(new UploadRecord("yt", "abcdef0123", "vid1", "gdrive:Videos/talk.mp4", 1234, "talk", at), found);
        Assert.Null(await reopened.FindUploadAsync("other", "abcdef0123"));
        Assert.Null(await reopened.FindUploadAsync("yt", "0000"));
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task RecordUpload_SameMd5Again_ReplacesTheRecord()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);
        var ledger = await OpenLedgerAsync();
        await ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid1", "a.mp4", 1, null, at));

        await ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid2", "b.mp4", 1, "b", at.AddHours(1)));

        Assert.Equal("vid2", (await ledger.FindUploadAsync("yt", "aa"))!.RemoteId);
        Assert.Single(await ledger.ListUploadsAsync("yt").ToListAsync());
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task ForgetUpload_ByVideoId_OnlyThatOne()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);
        var ledger = await OpenLedgerAsync();
        await ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid1", "a.mp4", 1, null, at));
        await ledger.RecordUploadAsync(new UploadRecord("yt", "bb", "vid2", "b.mp4", 2, null, at.AddMinutes(1)));
        await ledger.RecordUploadAsync(new UploadRecord("other", "aa", "vid1", "a.mp4", 1, null, at));

        await ledger.ForgetUploadAsync("yt", "vid1");

        Assert.Null(await ledger.FindUploadAsync("yt", "aa"));
        Assert.NotNull(await ledger.FindUploadAsync("yt", "bb"));
        Assert.NotNull(await ledger.FindUploadAsync("other", "aa"));
        await CloseLedgersAsync();
    }

    [Fact]
    public async Task ListUploads_NewestFirst_OfThatAccount()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);
        var ledger = await OpenLedgerAsync(new FakeTimeProvider(at));
        await ledger.RecordUploadAsync(new UploadRecord("yt", "aa", "vid1", "a.mp4", 1, null, at));
        await ledger.RecordUploadAsync(new UploadRecord("yt", "bb", "vid2", "b.mp4", 2, null, at.AddMinutes(1)));
        await ledger.RecordUploadAsync(new UploadRecord("other", "cc", "vid3", "c.mp4", 3, null, at.AddMinutes(2)));

        var listed = await ledger.ListUploadsAsync("yt").ToListAsync();

        Assert.Equal(["vid2", "vid1"], listed.Select(u => u.RemoteId));
        await CloseLedgersAsync();
    }
}
