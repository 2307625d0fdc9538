using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tests.Browser;

/// <summary>
/// The web site a browser test opens: one page and tus-js-client's browser bundle, on Kestrel at 127.0.0.1 with a port
/// of its own, so that the page's origin is not `lp serve`'s and every upload request is cross-origin (CORS).
/// </summary>
public sealed class PageServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PageServer(WebApplication app) => _app = app;

    /// <summary>The page's URL.</summary>
    public Uri Url { get; private set; } = new("http://unset/");

    public static async Task<PageServer> StartAsync(string html, string bundle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var server = new PageServer(builder.Build());
        server._app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
        server._app.MapGet("/tus.min.js", () => Results.File(bundle, "text/javascript"));
        await server._app.StartAsync();
        server.Url = new Uri(server._app.Urls.Single().TrimEnd('/') + "/");
        return server;
    }

    /// <summary>The repository's root (where .artifacts/ is), found upwards from the test's folder.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoadPipe.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no LoadPipe.slnx above {AppContext.BaseDirectory}");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
