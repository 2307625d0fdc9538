using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google.Faults;

/// <summary>What a request does, as the fault switches and the request log name it.</summary>
public enum RequestKind
{
    Other,
    Auth,
    Token,
    DriveAbout,
    DriveList,
    DriveGet,
    DriveDownload,
    DriveExport,
    DriveCreate,
    DriveUpdate,
    DriveDelete,
    DriveUploadStart,
    YouTubeUploadStart,
    YouTubeList,
    YouTubeChannels,
    /// <summary>A PUT with a body on a session URI (Drive or YouTube).</summary>
    UploadChunk,
    /// <summary>A PUT with an empty body and <c>Content-Range: bytes */…</c> on a session URI.</summary>
    UploadStatus,
}

/// <summary>A request as a fault predicate sees it.</summary>
public sealed record FaultRequest(RequestKind Kind, string Method, string Path, string? ContentRange);

/// <summary>
/// Faults a test switches on; each fires on the next matching requests and is then used up. Thread-safe.
/// Reasons follow Google's: <c>rateLimitExceeded</c>, <c>userRateLimitExceeded</c> (403, transient),
/// <c>backendError</c> (500/503), <c>quotaExceeded</c> / <c>uploadLimitExceeded</c> (YouTube 403).
/// </summary>
public sealed class FaultSwitchboard
{
    private readonly object _gate = new();
    private readonly List<ErrorFault> _errors = [];
    private readonly Queue<long> _drops = new();
    private readonly Queue<long> _downloadDrops = new();

    internal Action? OnExpireUploadSessions { get; set; }
    internal Action? OnExpireAllTokens { get; set; }

    /// <summary>The next <paramref name="count"/> requests of <paramref name="kind"/> answer <paramref name="status"/> with a Google JSON error.</summary>
    public void FailNext(RequestKind kind, int count = 1, int status = 503, string reason = "backendError", TimeSpan? retryAfter = null, string? message = null) =>
        FailNext(r => r.Kind == kind, count, status, reason, retryAfter, message);

    /// <summary>The next <paramref name="count"/> requests matching <paramref name="match"/> answer <paramref name="status"/>.</summary>
    public void FailNext(Func<FaultRequest, bool> match, int count = 1, int status = 503, string reason = "backendError", TimeSpan? retryAfter = null, string? message = null)
    {
        lock (_gate)
        {
            _errors.Add(new ErrorFault(match, status, reason, retryAfter, message ?? DefaultMessage(reason)) { Remaining = count });
        }
    }

    /// <summary>403 <c>userRateLimitExceeded</c> (or <c>rateLimitExceeded</c>) on the next requests of a kind.</summary>
    public void RateLimit(RequestKind kind, int count = 1, bool perUser = true) =>
        FailNext(kind, count, 403, perUser ? "userRateLimitExceeded" : "rateLimitExceeded");

    /// <summary>429 with <c>Retry-After</c> on the next requests of a kind.</summary>
    public void TooManyRequests(RequestKind kind, TimeSpan retryAfter, int count = 1) =>
        FailNext(kind, count, 429, "rateLimitExceeded", retryAfter);

    /// <summary>The next <paramref name="count"/> upload chunks: the connection is aborted after reading <paramref name="bytes"/> of the body.</summary>
    public void DropConnectionAfter(long bytes, int count = 1)
    {
        lock (_gate)
        {
            for (int i = 0; i < count; i++)
            {
                _drops.Enqueue(bytes);
            }
        }
    }

    /// <summary>The next <paramref name="count"/> media downloads (alt=media): the connection is aborted after sending <paramref name="bytes"/> of the body.</summary>
    public void DropDownloadAfter(long bytes, int count = 1)
    {
        lock (_gate)
        {
            for (int i = 0; i < count; i++)
            {
                _downloadDrops.Enqueue(bytes);
            }
        }
    }

    /// <summary>Every upload session so far expires: their URIs answer 404.</summary>
    public void ExpireUploadSessions() => OnExpireUploadSessions?.Invoke();

    /// <summary>Every access token so far expires: API calls with them answer 401 authError.</summary>
    public void ExpireAllTokens() => OnExpireAllTokens?.Invoke();

    /// <summary>Removes every pending fault.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _errors.Clear();
            _drops.Clear();
            _downloadDrops.Clear();
        }
    }

    internal long? TakeConnectionDrop()
    {
        lock (_gate)
        {
            return _drops.TryDequeue(out var bytes) ? bytes : null;
        }
    }

    internal long? TakeDownloadDrop()
    {
        lock (_gate)
        {
            return _downloadDrops.TryDequeue(out var bytes) ? bytes : null;
        }
    }

    /// <summary>Answers the request with a pending error fault if one matches; true when it did.</summary>
    internal async Task<bool> TryFailAsync(HttpContext context, FaultRequest request)
    {
        ErrorFault? hit = null;
        lock (_gate)
        {
            foreach (var f in _errors)
            {
                if (f.Remaining > 0 && f.Match(request))
                {
                    f.Remaining--;
                    hit = f;
                    break;
                }
            }
            _errors.RemoveAll(f => f.Remaining <= 0);
        }
        if (hit is null)
        {
            return false;
        }
        RequestLog.Of(context)?.Fault = hit.Reason;
        if (request.Kind == RequestKind.Token)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, hit.Status, hit.Reason, hit.Message);
        }
        else
        {
            await GoogleErrors.WriteApiErrorAsync(context, hit.Status, hit.Reason, hit.Message, hit.RetryAfter);
        }
        return true;
    }

    private static string DefaultMessage(string reason) => reason switch
    {
        "rateLimitExceeded" => "Rate Limit Exceeded",
        "userRateLimitExceeded" => "User Rate Limit Exceeded",
        "quotaExceeded" => "The request cannot be completed because you have exceeded your quota.",
        "uploadLimitExceeded" => "The user has exceeded the number of videos they may upload.",
        "backendError" => "Backend Error",
        "internalError" => "Internal Error",
        _ => reason,
    };

    private sealed record ErrorFault(Func<FaultRequest, bool> Match, int Status, string Reason, TimeSpan? RetryAfter, string Message)
    {
        public int Remaining { get; set; }
    }
}
