namespace LoadPipe.Google.Auth;

/// <summary>An access token and the time the server says it stops working.</summary>
public sealed record AccessToken(string Value, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"AccessToken {{ ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>
/// The <see cref="IAccessTokenSource"/> contract once for every kind of credential: the current token is handed out
/// until a minute before it expires (half its lifetime for tokens shorter than two minutes), then one caller fetches a
/// new one while the others wait for it. A token the server refused is replaced once, however many callers report it
/// at the same time: the first refreshes, the rest get the token it fetched. Time comes from the injected
/// <see cref="TimeProvider"/>, so expiry is testable without waiting.
/// </summary>
public abstract class RefreshingTokenSource : IAccessTokenSource
{
    /// <summary>How long before expiry a token is replaced.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Current? _current;

    protected RefreshingTokenSource(TimeProvider? time) => Time = time ?? TimeProvider.System;

    protected TimeProvider Time { get; }

    /// <summary>Asks the token endpoint for a new token; errors are <see cref="Core.Errors.LoadPipeException"/>s.</summary>
    protected abstract Task<AccessToken> FetchAsync(CancellationToken cancellationToken);

    /// <summary>Starts with a token obtained earlier (the one stored by the last run), if it is still fresh enough.</summary>
    protected void Seed(AccessToken token) => _current = new Current(token, token.ExpiresAt - RefreshMargin);

    public ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        var current = _current;
        return current is not null && IsFresh(current) ? ValueTask.FromResult(current.Token.Value) : new ValueTask<string>(RenewAsync(null, cancellationToken));
    }

    public ValueTask<string> RefreshAsync(string refused, CancellationToken cancellationToken = default) =>
        new(RenewAsync(refused, cancellationToken));

    private async Task<string> RenewAsync(string? refused, CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Whoever held the lock before may have fetched what this caller needs.
            var current = _current;
            if (current is not null && current.Token.Value != refused && IsFresh(current)) return current.Token.Value;
            var fetched = Schedule(await FetchAsync(cancellationToken).ConfigureAwait(false));
            _current = fetched;
            return fetched.Token.Value;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private bool IsFresh(Current current) => Time.GetUtcNow() < current.RefreshAt;

    /// <summary>A token just fetched: replaced a minute before it expires, or half-way through a short life (so a
    /// server handing out one-minute tokens is not asked again on every request).</summary>
    private Current Schedule(AccessToken token)
    {
        var lifetime = token.ExpiresAt - Time.GetUtcNow();
        var margin = lifetime >= 2 * RefreshMargin ? RefreshMargin : lifetime / 2;
        return new Current(token, token.ExpiresAt - margin);
    }

    private sealed record Current(AccessToken Token, DateTimeOffset RefreshAt);
}
