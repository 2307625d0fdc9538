using System.Net.Sockets;
using LoadPipe.Core.Errors;
using LoadPipe.Google.Auth;

namespace LoadPipe.Google.Tests.Auth;

public sealed class LoopbackRedirectListenerTests
{
    [Fact]
    public async Task WaitForCode_IdleConnectionAndFaviconFirst_StillGetsTheCode()
    {
        using var listener = new LoopbackRedirectListener();
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", listener.RedirectUri);
        var waiting = listener.WaitForCodeAsync("s1", CancellationToken.None);
        using var idle = new TcpClient();
        await idle.ConnectAsync(new Uri(listener.RedirectUri).Host, new Uri(listener.RedirectUri).Port);
        using var http = new HttpClient();

        using var favicon = await http.GetAsync(listener.RedirectUri + "favicon.ico");
        using var redirect = await http.GetAsync(listener.RedirectUri + "?state=s1&code=4%2Fabc+def&scope=x");

        Assert.Equal(404, (int)favicon.StatusCode);
        Assert.Equal(200, (int)redirect.StatusCode);
        Assert.Equal("4/abc def", await waiting);
    }

    [Fact]
    public async Task WaitForCode_ErrorRedirect_IsAuthErrorWithTheCode()
    {
        using var listener = new LoopbackRedirectListener();
        var waiting = listener.WaitForCodeAsync("s1", CancellationToken.None);
        using var http = new HttpClient();

        using var page = await http.GetAsync(listener.RedirectUri + "?state=s1&error=access_denied");

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => waiting);
        Assert.Equal(ErrorKind.Auth, e.Kind);
        Assert.Contains("access_denied", e.Message, StringComparison.Ordinal);
        Assert.Contains("did not complete", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForCode_Cancelled_StopsListening()
    {
        using var listener = new LoopbackRedirectListener();
        using var cancel = new CancellationTokenSource();
        var waiting = listener.WaitForCodeAsync("s1", cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        using var http = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(listener.RedirectUri + "?state=s1&code=c"));
    }
}
