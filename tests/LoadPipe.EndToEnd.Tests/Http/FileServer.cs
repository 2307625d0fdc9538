using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace LoadPipe.EndToEnd.Tests.Http;

/// <summary>
/// A real HTTP file server (Kestrel on 127.0.0.1, a free port) serving in-memory files at /files/NAME the way
/// static file servers and CDNs do: ETag and Last-Modified validators, Accept-Ranges, single byte ranges answered
/// 206 with Content-Range (RFC 9110 §14), If-Range honoured (§13.1.5), HEAD. Faults are queued per file and
/// consumed one per request, in order: a status with Retry-After, a body cut off after some bytes (optionally
/// replacing the file at that moment), a body that stalls, a body that trickles. Every request is logged for the
/// tests to inspect.
/// </summary>
public sealed class FileServer : IAsyncLifetime
{
    private static readonly DateTimeOffset Epoch = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ConcurrentDictionary<string, ServedFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ServedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, string> _redirects = new(StringComparer.Ordinal);
    private WebApplication? _app;
    private int _revision;

    /// <summary>"http://127.0.0.1:PORT/files/".</summary>
    public Uri BaseAddress { get; private set; } = new("http://unset/");

    public string UrlOf(string name) => new Uri(BaseAddress, name).AbsoluteUri;

    /// <summary>Serves <paramref name="content"/> as <paramref name="name"/> (replacing what was there) with a new
    /// validator: a strong ETag unless <paramref name="etag"/> is false, and always a later Last-Modified. Without
    /// <paramref name="ranges"/>, Range headers are ignored and every GET gets the whole file (200).</summary>
    public void Publish(string name, byte[] content, bool etag = true, bool ranges = true)
    {
        var revision = Interlocked.Increment(ref _revision);
        _files[name] = new ServedFile(content, etag ? $"\"r{revision}-{content.Length:x}\"" : null, Epoch.AddMinutes(revision), ranges);
    }

    /// <summary>Serves <paramref name="content"/> as <paramref name="name"/> with the validators it had: what a server
    /// without ETags shows of a file rewritten within the second of its Last-Modified, or given its old time back.</summary>
    public void ReplaceKeepingValidators(string name, byte[] content) => _files[name] = _files[name] with { Content = content };

    /// <summary><see cref="Publish"/>es <paramref name="length"/> seeded random bytes and returns them.</summary>
    public byte[] PublishRandom(string name, int length, int seed, bool etag = true, bool ranges = true)
    {
        var content = new byte[length];
        new Random(seed).NextBytes(content);
        Publish(name, content, etag, ranges);
        return content;
    }

    /// <summary>Answers every request for <paramref name="name"/> with 302 Found to <paramref name="to"/> (itself: a loop).</summary>
    public void Redirect(string name, string to) => _redirects[name] = to;

    /// <summary>Queues faults for the next requests for <paramref name="name"/>, one per request (HEAD or GET).</summary>
    public void Inject(string name, params Fault[] faults)
    {
        var queue = _faults.GetOrAdd(name, _ => new ConcurrentQueue<Fault>());
        foreach (var fault in faults) queue.Enqueue(fault);
    }

    /// <summary>Every request for <paramref name="name"/> so far, in arrival order.</summary>
    /// <summary>Writes a config file, in <paramref name="folder"/>, with one http remote named <c>files</c> for this server
    /// and the given read timeout (e.g. <c>2s</c>); returns its path.</summary>
    public string WriteRemoteConfig(string folder, string timeout)
    {
        var path = Path.Combine(folder, "config.yaml");
        File.WriteAllText(path, $"""
            remotes:
              files:
                type: http
                url: {BaseAddress}
                timeout: {timeout}
            """);
        return path;
    }

    public IReadOnlyList<ServedRequest> RequestsFor(string name) => _requests.Where(r => r.Name == name).ToList();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapMethods("/files/{name}", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)ServeAsync);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.Single().TrimEnd('/') + "/files/");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    private async Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var name = (string)request.RouteValues["name"]!;
        var fault = _faults.TryGetValue(name, out var queue) && queue.TryDequeue(out var next) ? next : Fault.None;
        var range = request.Headers.Range.ToString();
        var ifRange = request.Headers.IfRange.ToString();
        void Log(int status, bool cut = false) =>
            _requests.Enqueue(new ServedRequest(name, request.Method, range.Length > 0 ? range : null, ifRange.Length > 0 ? ifRange : null, status, cut));

        if (_redirects.TryGetValue(name, out var target))
        {
            response.StatusCode = StatusCodes.Status302Found;
            response.Headers.Location = UrlOf(target);
            Log(302);
            return;
        }
        if (fault.Status is { } failure)
        {
            response.StatusCode = failure;
            if (fault.RetryAfterSeconds is { } seconds) response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            Log(failure);
            return;
        }
        if (!_files.TryGetValue(name, out var file))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            Log(404);
            return;
        }

        long length = file.Content.Length, from = 0, to = length - 1;
        if (file.Ranges) response.Headers.AcceptRanges = "bytes";
        response.Headers.LastModified = file.LastModified.ToString("R", CultureInfo.InvariantCulture);
        if (file.ETag is not null) response.Headers.ETag = file.ETag;
        response.ContentType = "application/octet-stream";
        response.StatusCode = StatusCodes.Status200OK;
        if (file.Ranges && TryParseRange(range, out var first, out var last) && IfRangeHolds(ifRange, file))
        {
            if (first >= length)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{length}";
                Log(416);
                return;
            }
            from = first;
            to = Math.Min(last ?? length - 1, length - 1);
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {from}-{to}/{length}";
        }
        response.ContentLength = to - from + 1;
        if (HttpMethods.IsHead(request.Method))
        {
            Log(response.StatusCode);
            return;
        }

        var end = to + 1;
        var cutAt = (fault.CutAfterBytes ?? fault.StallAfterBytes) is { } cut ? Math.Min(end, from + cut) : end;
        Log(response.StatusCode, cutAt < end);
        for (var offset = from; offset < cutAt;)
        {
            var n = (int)Math.Min(fault.TrickleBytes ?? 64 << 10, cutAt - offset);
            await response.Body.WriteAsync(file.Content.AsMemory((int)offset, n), context.RequestAborted);
            offset += n;
            if (fault.TrickleBytes is not null)
            {
                await response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(fault.TricklePause, context.RequestAborted);
            }
        }
        if (cutAt < end)
        {
            await response.Body.FlushAsync(context.RequestAborted);
            if (fault.StallAfterBytes is not null)
            {
                // Keep the connection open and silent until the client gives up on it.
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }
                return;
            }
            if (fault.ReplaceWith is { } replacement) Publish(name, replacement, file.ETag is not null, file.Ranges);
            context.Abort();
        }
    }

    /// <summary>One range of the form "bytes=FIRST-" or "bytes=FIRST-LAST"; anything else is served whole.</summary>
    private static bool TryParseRange(string header, out long first, out long? last)
    {
        first = 0;
        last = null;
        if (!RangeHeaderValue.TryParse(header, out var parsed) || parsed.Unit != "bytes" || parsed.Ranges.Count != 1) return false;
        var only = parsed.Ranges.Single();
        if (only.From is not { } from) return false;
        first = from;
        last = only.To;
        return true;
    }

    /// <summary>RFC 9110 §13.1.5: the range applies only if the validator matches exactly (strong ETag, or the
    /// Last-Modified date itself); otherwise the whole current representation is sent.</summary>
    private static bool IfRangeHolds(string ifRange, ServedFile file)
    {
        if (ifRange.Length == 0) return true;
        if (ifRange.StartsWith('"')) return file.ETag == ifRange;
        return DateTimeOffset.TryParse(ifRange, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) && date == file.LastModified;
    }

    private sealed record ServedFile(byte[] Content, string? ETag, DateTimeOffset LastModified, bool Ranges);
}
