using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Storage.Http;

/// <summary>Maps an HTTP failure to a named error: 404 NotFound, 401/403 Auth, 408/429/5xx Transient (with
/// Retry-After), a redirect not followed (too many) and any other 4xx Permanent.</summary>
internal static class HttpErrors
{
    public static LoadPipeException FromResponse(HttpResponseMessage response, Uri uri)
    {
        var status = (int)response.StatusCode;
        var where = $"{Location.Redact(uri.AbsoluteUri)}: HTTP {status} {response.ReasonPhrase}";
        // The handler follows redirects (HttpStorageFactory): one still here is past its limit, a loop as a rule.
        if (status is >= 300 and < 400 && response.Headers.Location is { } next)
            return new LoadPipeException(ErrorKind.Permanent,
                $"{Location.Redact(uri.AbsoluteUri)}: too many redirects (more than {HttpStorageFactory.MaxRedirects}; the last, HTTP {status} {response.ReasonPhrase}, to {Location.Redact(next.IsAbsoluteUri ? next.AbsoluteUri : next.OriginalString)})");
        var kind = response.StatusCode switch
        {
            HttpStatusCode.NotFound or HttpStatusCode.Gone => ErrorKind.NotFound,
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => ErrorKind.Auth,
            HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests => ErrorKind.Transient,
            _ when status >= 500 => ErrorKind.Transient,
            _ => ErrorKind.Permanent,
        };
        return new LoadPipeException(kind, where) { RetryAfter = RetryAfter(response) };
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
