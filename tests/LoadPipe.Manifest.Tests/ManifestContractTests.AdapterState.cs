using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Tests;

/// <summary>The <see cref="IAdapterStateStore"/> part of the contract: values by scope and key, and counters with a limit.</summary>
public abstract partial class ManifestContractTests
{
    private readonly List<IManifest> _opened = [];

    private async Task<IAdapterStateStore> OpenStateAsync()
    {
        var manifest = await OpenAsync();
        _opened.Add(manifest);
        return Assert.IsAssignableFrom<IAdapterStateStore>(manifest);
    }

    private async Task CloseStatesAsync()
    {
        foreach (var m in _opened) await m.DisposeAsync();
        _opened.Clear();
    }

    [Fact]
    public async Task PutState_ThenGet_SurvivesReopenAndAPutReplaces()
    {
        var state = await OpenStateAsync();
        await state.PutStateAsync("yt:a", "upload/aa", """{"videoId":"v1"}""");
        await state.PutStateAsync("yt:a", "upload/aa", """{"videoId":"v2","title":"é ✓"}""");
        await CloseStatesAsync();

        var reopened = await OpenStateAsync();

        Assert.Equal("""{"videoId":"v2","title":"é ✓"}""", await reopened.GetStateAsync("yt:a", "upload/aa"));
        Assert.Null(await reopened.GetStateAsync("yt:a", "upload/bb"));
        Assert.Null(await reopened.GetStateAsync("yt:b", "upload/aa"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task PutStateDurably_ReplacesAndSurvivesReopen_AndLaterPlainPutsStillWork()
    {
        var state = await OpenStateAsync();
        await state.PutStateAsync("ingest:files", "f1", "1");
        await state.PutStateDurablyAsync("ingest:files", "f1", "2");
        await state.PutStateDurablyAsync("ingest:files", "f2", "3");
        await state.PutStateAsync("ingest:files", "f3", "4");
        await CloseStatesAsync();

        var reopened = await OpenStateAsync();

        Assert.Equal(["f1=2", "f2=3", "f3=4"], await reopened.ListStateAsync("ingest:files").Select(e => $"{e.Key}={e.Value}").ToListAsync());
        await CloseStatesAsync();
    }

    [Fact]
    public async Task DeleteStateDurably_RemovesOnlyThatKey_SurvivesReopen_AndLaterPlainCallsStillWork()
    {
        var state = await OpenStateAsync();
        await state.PutStateDurablyAsync("ingest:files", "f1", "1");
        await state.PutStateAsync("ingest:files", "f2", "2");

        var deleted = await state.DeleteStateDurablyAsync("ingest:files", "f1");
        var again = await state.DeleteStateDurablyAsync("ingest:files", "f1");
        await state.PutStateAsync("ingest:files", "f3", "3");
        Assert.True(await state.DeleteStateAsync("ingest:files", "f3"));
        await CloseStatesAsync();

        var reopened = await OpenStateAsync();
        Assert.Equal((true, false), (deleted, again));
        Assert.Equal(["f2=2"], await reopened.ListStateAsync("ingest:files").Select(e => $"{e.Key}={e.Value}").ToListAsync());
        await CloseStatesAsync();
    }

    [Fact]
    public async Task DeleteState_OnlyThatKeyOfThatScope_FalseWhenAbsent()
    {
        var state = await OpenStateAsync();
        await state.PutStateAsync("s1", "k", "1");
        await state.PutStateAsync("s1", "k2", "2");
        await state.PutStateAsync("s2", "k", "3");

        var deleted = await state.DeleteStateAsync("s1", "k");
        var again = await state.DeleteStateAsync("s1", "k");

        Assert.Equal((true, false), (deleted, again));
        Assert.Null(await state.GetStateAsync("s1", "k"));
        Assert.Equal("2", await state.GetStateAsync("s1", "k2"));
        Assert.Equal("3", await state.GetStateAsync("s2", "k"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ListState_ByPrefix_OrdinalOrderWithinTheScopeAndWildcardsArePlain()
    {
        var state = await OpenStateAsync();
        foreach (var key in new[] { "upload/b", "upload/a", "upload/B", "uploads", "quota/2026-11-23", "upload%/x", "upload_x" })
            await state.PutStateAsync("s", key, "v:" + key);
        await state.PutStateAsync("other", "upload/c", "x");

        var uploads = await state.ListStateAsync("s", "upload/").ToListAsync();
        var percent = await state.ListStateAsync("s", "upload%").ToListAsync();
        var all = await state.ListStateAsync("s").ToListAsync();

        Assert.Equal(["upload/B", "upload/a", "upload/b"], uploads.Select(e => e.Key));
        Assert.Equal("v:upload/B", uploads[0].Value);
        Assert.Equal(["upload%/x"], percent.Select(e => e.Key));
        Assert.Equal(7, all.Count);
        Assert.Empty(await state.ListStateAsync("none").ToListAsync());
        await CloseStatesAsync();
    }

    [Fact]
    public async Task TryAdd_UpToTheLimit_ThenRefusedWithoutChange()
    {
        var state = await OpenStateAsync();

        var first = await state.TryAddAsync("yt", "quota/d1", 1600, 3200);
        var second = await state.TryAddAsync("yt", "quota/d1", 1600, 3200);
        var third = await state.TryAddAsync("yt", "quota/d1", 1600, 3200);

        Assert.Equal(new CounterAdd(true, 1600), first);
        Assert.Equal(new CounterAdd(true, 3200), second);
        Assert.Equal(new CounterAdd(false, 3200), third);
        Assert.Equal("3200", await state.GetStateAsync("yt", "quota/d1"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task TryAdd_MoreThanTheLimitOnAFreshCounter_RefusedAndNothingRecorded()
    {
        var state = await OpenStateAsync();

        var add = await state.TryAddAsync("yt", "quota/d1", 1600, 1000);

        Assert.Equal(new CounterAdd(false, 0), add);
        Assert.Null(await state.GetStateAsync("yt", "quota/d1"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task TryAdd_OneCounterPerScopeAndKey_Apart()
    {
        var state = await OpenStateAsync();

        await state.TryAddAsync("yt", "quota/d1", 1600, 3200);
        await state.TryAddAsync("yt", "quota/d1", 1600, 3200);
        var otherKey = await state.TryAddAsync("yt", "quota/d2", 1600, 3200);
        var otherScope = await state.TryAddAsync("other", "quota/d1", 1, 6);

        Assert.Equal(new CounterAdd(true, 1600), otherKey);
        Assert.Equal(new CounterAdd(true, 1), otherScope);
        Assert.Equal("3200", await state.GetStateAsync("yt", "quota/d1"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task TryAdd_TwoSpendersAtOnceOverInstances_NeverPassTheLimit()
    {
        var states = new List<IAdapterStateStore>();
        for (var i = 0; i < 4; i++) states.Add(await OpenStateAsync());

        var adds = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => states[i % 4].TryAddAsync("yt", "quota/d1", 1600, 10_000))));

        Assert.Equal(6, adds.Count(a => a.Added));
        Assert.All(adds, a => Assert.InRange(a.Total, 1600, 9600));
        Assert.Equal("9600", await states[0].GetStateAsync("yt", "quota/d1"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task Raise_RaisesButNeverLowers_AndTryAddSeesIt()
    {
        var state = await OpenStateAsync();
        await state.TryAddAsync("yt", "quota/d1", 1600, 10_000);

        var raised = await state.RaiseAsync("yt", "quota/d1", 10_000);
        var notLowered = await state.RaiseAsync("yt", "quota/d1", 5);
        var fresh = await state.RaiseAsync("yt", "quota/d2", 7);

        Assert.Equal((10_000L, 10_000L, 7L), (raised, notLowered, fresh));
        Assert.Equal("7", await state.GetStateAsync("yt", "quota/d2"));
        Assert.Equal(new CounterAdd(false, 10_000), await state.TryAddAsync("yt", "quota/d1", 1600, 10_000));
        await CloseStatesAsync();
    }
}
