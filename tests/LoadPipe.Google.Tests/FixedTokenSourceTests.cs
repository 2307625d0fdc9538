using LoadPipe.Core.Errors;
using LoadPipe.Google;

namespace LoadPipe.Google.Tests;

public sealed class FixedTokenSourceTests
{
    [Fact]
    public async Task Refresh_FixedToken_IsAnAuthError()
    {
        var source = new FixedTokenSource("t0");
        Assert.Equal("t0", await source.GetAccessTokenAsync());
        var e = await Assert.ThrowsAsync<LoadPipeException>(async () => await source.RefreshAsync("t0"));
        Assert.Equal(ErrorKind.Auth, e.Kind);
    }
}
