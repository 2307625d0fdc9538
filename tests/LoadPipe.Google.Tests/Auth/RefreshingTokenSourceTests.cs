using LoadPipe.Google.Auth;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Google.Tests.Auth;

public sealed class RefreshingTokenSourceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task GetAccessToken_UntilAMinuteBeforeExpiry_ReusesTheToken()
    {
        var source = new ScriptedSource(_time, TimeSpan.FromHours(1));

        Assert.Equal("t1", await source.GetAccessTokenAsync());
        _time.Advance(TimeSpan.FromMinutes(58) + TimeSpan.FromSeconds(59));
        Assert.Equal("t1", await source.GetAccessTokenAsync());
        Assert.Equal(1, source.Fetches);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("t2", await source.GetAccessTokenAsync());
        Assert.Equal(2, source.Fetches);
    }

    [Fact]
    public async Task GetAccessToken_ShortLivedTokens_RefreshedHalfWay()
    {
        var source = new ScriptedSource(_time, TimeSpan.FromSeconds(60));

        Assert.Equal("t1", await source.GetAccessTokenAsync());
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("t1", await source.GetAccessTokenAsync());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("t2", await source.GetAccessTokenAsync());
    }

    [Fact]
    public async Task Refresh_RefusedCurrentToken_FetchesOnce()
    {
        var source = new ScriptedSource(_time, TimeSpan.FromHours(1));
        var first = await source.GetAccessTokenAsync();

        Assert.Equal("t2", await source.RefreshAsync(first));
        Assert.Equal("t2", await source.GetAccessTokenAsync());
        Assert.Equal(2, source.Fetches);
    }

    [Fact]
    public async Task Refresh_ManyCallersRefusedTheSameToken_ShareOneFetch()
    {
        var source = new ScriptedSource(_time, TimeSpan.FromHours(1));
        var first = await source.GetAccessTokenAsync();
        source.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var refreshes = Enumerable.Range(0, 8).Select(_ => source.RefreshAsync(first).AsTask()).ToList();
        source.Gate.SetResult();
        var tokens = await Task.WhenAll(refreshes);

        Assert.All(tokens, t => Assert.Equal("t2", t));
        Assert.Equal(2, source.Fetches);
    }

    [Fact]
    public async Task Refresh_RefusedTokenAlreadyReplaced_ReturnsTheNewerWithoutFetching()
    {
        var source = new ScriptedSource(_time, TimeSpan.FromHours(1));
        var first = await source.GetAccessTokenAsync();
        Assert.Equal("t2", await source.RefreshAsync(first));

        Assert.Equal("t2", await source.RefreshAsync(first));
        Assert.Equal(2, source.Fetches);
    }

    [Fact]
    public async Task Refresh_FetchFails_NextCallerTriesAgain()
    {
        var source = new ScriptedSource(_time, TimeSpan.FromHours(1)) { FailNext = true };

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await source.GetAccessTokenAsync());
        Assert.Equal("t2", await source.GetAccessTokenAsync());
    }

    /// <summary>Hands out t1, t2, ... each valid for <paramref name="lifetime"/>; <see cref="Gate"/> holds a fetch.</summary>
    private sealed class ScriptedSource(TimeProvider time, TimeSpan lifetime) : RefreshingTokenSource(time)
    {
        private int _fetches;

        public int Fetches => _fetches;
        public TaskCompletionSource? Gate { get; set; }
        public bool FailNext { get; set; }

        protected override async Task<AccessToken> FetchAsync(CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _fetches);
            if (Gate is { } gate) await gate.Task.WaitAsync(cancellationToken);
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("token endpoint down");
            }
            return new AccessToken($"t{n}", Time.GetUtcNow() + lifetime);
        }
    }
}
