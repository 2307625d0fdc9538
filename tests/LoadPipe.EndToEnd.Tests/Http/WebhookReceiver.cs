using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.EndToEnd.Tests.Http;

/// <summary>
/// A real HTTP endpoint for `--on-complete` and `lp notify`: Kestrel on 127.0.0.1 (a free port) that accepts POSTs to
/// /hook, answers 204 and keeps each JSON body, in arrival order.
/// </summary>
public sealed class WebhookReceiver : IAsyncLifetime
{
    private readonly ConcurrentQueue<Received> _received = new();
    private WebApplication? _app;

    /// <summary>"http://127.0.0.1:PORT/hook".</summary>
    public string Url { get; private set; } = "http://unset/hook";

    public IReadOnlyList<Received> Requests => [.. _received];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            _received.Enqueue(new Received(context.Request.ContentType, body.RootElement.Clone()));
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        await _app.StartAsync();
        Url = _app.Urls.Single().TrimEnd('/') + "/hook";
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    public sealed record Received(string? ContentType, JsonElement Body);
}
