namespace LoadPipe.Google;

/// <summary>
/// Where a Google adapter gets its OAuth access tokens: an installed-app login kept in the encrypted token store,
/// a service account, or (in tests) a fixed token. Implementations refresh ahead of expiry and are thread-safe.
/// Tokens are secrets: never log them, never put them in an exception message.
/// </summary>
public interface IAccessTokenSource
{
    /// <summary>A token that stays valid for at least a minute.</summary>
    ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The server refused <paramref name="refused"/> (401): returns a new token. Callers retry their request once
    /// with it; a second 401 is an <see cref="Core.Errors.ErrorKind.Auth"/> error. When another caller already
    /// refreshed past <paramref name="refused"/>, returns that newer token without asking the server again.
    /// </summary>
    ValueTask<string> RefreshAsync(string refused, CancellationToken cancellationToken = default);
}

/// <summary>A token that never changes: for tests and for tokens obtained elsewhere (LP_GOOGLE_ACCESS_TOKEN).</summary>
public sealed class FixedTokenSource(string token) : IAccessTokenSource
{
    public ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(token);

    public ValueTask<string> RefreshAsync(string refused, CancellationToken cancellationToken = default) =>
        throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Auth, "the access token was refused and cannot be refreshed");
}
