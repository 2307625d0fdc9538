using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Fetch.Input;
using LoadPipe.Storage.Http;
using Polly;

namespace LoadPipe.Fetch.Downloads;

/// <summary>
/// Downloads with the HTTP adapter (<see cref="HttpStorage"/>): each try holds a slot of the URL's host
/// (<see cref="PerHostLimiter"/>); transient faults (network, 408, 429, 5xx, a body cut short) are retried by the
/// core's policy (<see cref="Core.Resilience.RetryPolicy"/>: backoff with jitter, Retry-After honoured), and a try
/// after some bytes resumes with Range and If-Range from the first byte not yet written, so the sink never gets a
/// byte twice and a file that changed in between fails rather than being spliced.
/// </summary>
public sealed class HttpDownloader : IDownloader
{
    private readonly HttpStorage _storage;
    private readonly ResiliencePipeline _retry;
    private readonly PerHostLimiter _hosts;

    public HttpDownloader(HttpStorage storage, ResiliencePipeline retry, PerHostLimiter hosts)
    {
        _storage = storage;
        _retry = retry;
        _hosts = hosts;
    }

    /// <summary>The core's retry policy (<see cref="Core.Resilience.RetryPolicy"/>) with the fetch defaults' delays, each
    /// retry logged.</summary>
    public static ResiliencePipeline CreateRetryPolicy(int retries, TimeProvider time, Microsoft.Extensions.Logging.ILogger logger) =>
        Core.Resilience.RetryPolicy.Create(retries, Pipeline.FetchDefaults.RetryDelay, Pipeline.FetchDefaults.MaxRetryDelay, time,
            (e, attempt, delay) => logger.Retrying(attempt, e.Message, delay));

    /// <summary>A client for <see cref="HttpStorage"/> that lets the downloader see each response's validators.</summary>
    public static HttpClient CreateClient(int perHost)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = perHost,
        };
        var client = new HttpClient(new ResponseCapture.Handler(handler)) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("LoadPipe/0.1");
        return client;
    }

    public async Task<DownloadInfo> DownloadAsync(FetchEntry entry, Stream sink, Func<long, CancellationToken, ValueTask> beforeBody,
        CancellationToken cancellationToken = default)
    {
        var url = new Uri(entry.Url!);
        var where = Location.Redact(url.AbsoluteUri);
        long written = 0, total = -1;
        string? version = null, md5 = null;
        var started = false;
        var buffer = new byte[1 << 16];
        await _retry.ExecuteAsync(async ct =>
        {
            using var slot = await _hosts.AcquireAsync(url, ct).ConfigureAwait(false);
            var capture = new ResponseCapture();
            ResponseCapture.Current.Value = capture;
            Stream body;
            try
            {
                body = await _storage.OpenReadAsync(url.AbsoluteUri, new ReadOptions(written, written > 0 ? version : null), ct).ConfigureAwait(false);
            }
            finally
            {
                ResponseCapture.Current.Value = null;
            }
            await using (body.ConfigureAwait(false))
            {
                if (!started)
                {
                    (version, total, md5) = (capture.Version, capture.TotalLength, capture.Md5);
                    started = true;
                    await beforeBody(total, ct).ConfigureAwait(false);
                }
                int n;
                while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    await sink.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    written += n;
                }
            }
            if (total >= 0 && written != total)
                throw new LoadPipeException(ErrorKind.Transient, $"{where}: the body ended after {written} of {total} bytes");
        }, cancellationToken).ConfigureAwait(false);
        var hashes = md5 is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["md5"] = md5 };
        return new DownloadInfo(written, hashes);
    }
}
