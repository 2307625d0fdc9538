using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.Tus.Tests.Support;

/// <summary>
/// A small tus 1.0 endpoint on Kestrel (127.0.0.1, a free port) that offers the checksum extension, which the
/// reference server lacks: one upload at a time, in memory. It follows the extension's rules ("Checksum"): an
/// unsupported algorithm gets 400, a mismatch 460, and in both cases the chunk is discarded. Every PATCH's
/// <c>Upload-Checksum</c> is recorded; <see cref="FailNextWith460"/> answers the next PATCH 460 whatever it carries, as a
/// server does for a chunk damaged on the way. With <see cref="RequiredToken"/> it asks for a bearer token, with
/// <see cref="RequiredHeader"/> for a header of its own. With <see cref="CreationWithUpload"/> it offers that extension
/// and takes a POST's body as the first PATCH's. <see cref="Requests"/> lists each POST and PATCH with its body's length.
/// </summary>
public sealed class ChecksumTusServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string[] _algorithms;
    private readonly MemoryStream _content = new();
    private long _length = -1;

    private ChecksumTusServer(WebApplication app, string[] algorithms)
    {
        _app = app;
        _algorithms = algorithms;
    }

    /// <summary>The creation URL, "http://127.0.0.1:PORT/files/".</summary>
    public Uri Endpoint { get; private set; } = new("http://unset/");

    /// <summary>Each PATCH's Upload-Checksum (null when it had none), in arrival order.</summary>
    public List<string?> ChecksumsReceived { get; } = [];

    public bool FailNextWith460 { get; set; }

    public bool CreationWithUpload { get; set; }

    /// <summary>When set, every request but OPTIONS must carry this header with this value, else 401.</summary>
    public (string Name, string Value)? RequiredHeader { get; set; }

    /// <summary>Each POST and PATCH: its method and the length of its body, in arrival order.</summary>
    public List<(string Method, long Bytes)> Requests { get; } = [];

    /// <summary>When set, every request but OPTIONS must carry <c>Authorization: Bearer</c> with it, else 401.</summary>
    public string? RequiredToken { get; set; }

    public byte[] Content => _content.ToArray();

    /// <summary>Starts a server that offers the checksum extension with <paramref name="algorithms"/>, or none when empty.</summary>
    public static async Task<ChecksumTusServer> StartAsync(params string[] algorithms)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var server = new ChecksumTusServer(builder.Build(), algorithms);
        server._app.Map("/files/{**rest}", server.HandleAsync);
        await server._app.StartAsync();
        server.Endpoint = new Uri(server._app.Urls.Single().TrimEnd('/') + "/files/");
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.Method == HttpMethods.Options)
        {
            response.Headers["Tus-Version"] = "1.0.0";
            response.Headers["Tus-Extension"] = (CreationWithUpload ? "creation,creation-with-upload" : "creation")
                + (_algorithms.Length > 0 ? ",termination,checksum" : ",termination");
            if (_algorithms.Length > 0) response.Headers["Tus-Checksum-Algorithm"] = string.Join(',', _algorithms);
            response.StatusCode = 204;
            return;
        }
        response.Headers["Tus-Resumable"] = "1.0.0";
        if (RequiredToken is not null && request.Headers.Authorization != "Bearer " + RequiredToken)
        {
            response.StatusCode = 401;
            return;
        }
        if (RequiredHeader is { } required && request.Headers[required.Name] != required.Value)
        {
            response.StatusCode = 401;
            return;
        }
        if (request.Headers["Tus-Resumable"] != "1.0.0")
        {
            response.StatusCode = 412;
            return;
        }
        switch (request.Method)
        {
            case "POST":
                _length = request.Headers.ContainsKey("Upload-Length") ? long.Parse(request.Headers["Upload-Length"]!, CultureInfo.InvariantCulture) : -1;
                _content.SetLength(0);
                if (CreationWithUpload && request.ContentType == "application/offset+octet-stream")
                {
                    if (!await TakeBodyAsync(request, response, "POST")) return;
                }
                else Requests.Add(("POST", 0));
                response.Headers.Location = Endpoint + "1";
                response.StatusCode = 201;
                return;
            case "HEAD":
                response.Headers["Upload-Offset"] = _content.Length.ToString(CultureInfo.InvariantCulture);
                response.Headers["Upload-Length"] = _length.ToString(CultureInfo.InvariantCulture);
                response.Headers.CacheControl = "no-store";
                response.StatusCode = 200;
                return;
            case "DELETE":
                response.StatusCode = 204;
                return;
            case "PATCH":
                await PatchAsync(request, response);
                return;
            default:
                response.StatusCode = 405;
                return;
        }
    }

    private async Task PatchAsync(HttpRequest request, HttpResponse response)
    {
        if (long.Parse(request.Headers["Upload-Offset"]!, CultureInfo.InvariantCulture) != _content.Length)
        {
            response.StatusCode = 409;
            return;
        }
        if (request.Headers.ContainsKey("Upload-Length")) _length = long.Parse(request.Headers["Upload-Length"]!, CultureInfo.InvariantCulture);
        if (await TakeBodyAsync(request, response, "PATCH")) response.StatusCode = 204;
    }

    /// <summary>Keeps the body (unless its checksum is refused) and sets Upload-Offset; false after writing a refusal.</summary>
    private async Task<bool> TakeBodyAsync(HttpRequest request, HttpResponse response, string method)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        Requests.Add((method, body.Length));
        var checksum = request.Headers["Upload-Checksum"].ToString();
        ChecksumsReceived.Add(checksum.Length > 0 ? checksum : null);
        if (checksum.Length > 0)
        {
            var (algorithm, expected) = (checksum.Split(' ')[0], checksum.Split(' ')[1]);
            if (!_algorithms.Contains(algorithm))
            {
                response.StatusCode = 400;
                return false;
            }
#pragma warning disable CA5350, CA5351 // the algorithms tus servers offer
            var actual = Convert.ToBase64String(algorithm == "sha1" ? SHA1.HashData(body.ToArray()) : MD5.HashData(body.ToArray()));
#pragma warning restore CA5350, CA5351
            if (actual != expected || FailNextWith460)
            {
                FailNextWith460 = false;
                response.StatusCode = 460;
                return false;
            }
        }
        body.Position = 0;
        await body.CopyToAsync(_content);
        response.Headers["Upload-Offset"] = _content.Length.ToString(CultureInfo.InvariantCulture);
        return true;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
