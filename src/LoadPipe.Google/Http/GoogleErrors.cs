using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Http;

/// <summary>
/// Google's JSON errors (https://cloud.google.com/apis/design/errors, and Drive's "Resolve errors" page) turned into
/// <see cref="GoogleApiException"/>: <c>{"error":{"code":403,"message":"...","errors":[{"reason":"..."}]}}</c>, or the
/// OAuth form <c>{"error":"invalid_grant","error_description":"..."}</c>.
/// </summary>
public static partial class GoogleErrors
{
    /// <summary>Reasons Google gives for a used-up quota: retrying before it resets only spends more of it.</summary>
    public static readonly IReadOnlySet<string> QuotaReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg",
    };

    /// <summary>Reasons of a 403 that mean "slow down": transient, retried with backoff.</summary>
    public static readonly IReadOnlySet<string> RateLimitReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "rateLimitExceeded", "userRateLimitExceeded",
    };

    public static bool IsQuotaReason(string? reason) => reason is not null && QuotaReasons.Contains(reason);

    /// <summary>
    /// What a status and reason mean: 408, 429, 5xx and a 403 rate limit are transient; 401 and a 403 for missing
    /// permissions are Auth; 404 and 410 NotFound; a quota reason, 400 and anything else Permanent.
    /// </summary>
    public static ErrorKind Classify(HttpStatusCode status, string? reason)
    {
        var code = (int)status;
        if (status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || code >= 500) return ErrorKind.Transient;
        if (IsQuotaReason(reason)) return ErrorKind.Permanent;
        return status switch
        {
            HttpStatusCode.Forbidden when reason is not null && RateLimitReasons.Contains(reason) => ErrorKind.Transient,
            HttpStatusCode.Unauthorized => ErrorKind.Auth,
            HttpStatusCode.Forbidden when reason is null or "insufficientPermissions" or "forbidden" or "authError"
                or "insufficientFilePermissions" or "domainPolicy" or "appNotAuthorizedToFile" => ErrorKind.Auth,
            HttpStatusCode.NotFound or HttpStatusCode.Gone => ErrorKind.NotFound,
            _ => ErrorKind.Permanent,
        };
    }

    /// <summary>Reads the error body of <paramref name="response"/> (a few KiB at most) and disposes it.</summary>
    /// <param name="what">The operation and object, for the message ("gdrive 'd': list Projects/raw"). No secrets.</param>
    public static async Task<GoogleApiException> FromResponseAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        using (response)
        {
            string body;
            try
            {
                body = await ReadCappedAsync(response.Content, 16 << 10, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                body = "";
            }
            return Create(response.StatusCode, body, RetryAfterOf(response.Headers.RetryAfter, DateTimeOffset.UtcNow), what);
        }
    }

    /// <summary>The exception for an error answer: Google's reason and message, one line, no URL query strings.</summary>
    public static GoogleApiException Create(HttpStatusCode status, string body, TimeSpan? retryAfter, string what)
    {
        var (reason, detail) = Parse(body);
        var kind = Classify(status, reason);
        var code = (int)status;
        var said = detail is null ? "" : ": " + OneLine(detail);
        var why = reason is null ? $"HTTP {code}" : $"HTTP {code} {reason}";
        var message = kind switch
        {
            _ when IsQuotaReason(reason) => $"{what}: Google quota exhausted ({reason}){said}; it resets daily (Pacific midnight)",
            ErrorKind.Auth when status == HttpStatusCode.Unauthorized => $"{what}: the access token was refused ({why}){said}",
            ErrorKind.Auth => $"{what}: permission denied ({why}){said}; check the remote's scopes and the file's sharing",
            ErrorKind.NotFound => $"{what}: not found ({why}){said}",
            ErrorKind.Transient => $"{what}: {why}{said}",
            _ => $"{what}: {why}{said}",
        };
        return new GoogleApiException(kind, message, status, reason)
        {
            RetryAfter = kind == ErrorKind.Transient ? retryAfter : null,
        };
    }

    /// <summary>Retry-After as a delay: seconds, or an HTTP date (past dates are no wait).</summary>
    public static TimeSpan? RetryAfterOf(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>(reason, message) from either error shape; nulls when the body is not one.</summary>
    internal static (string? Reason, string? Message) Parse(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return (null, null);
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("error", out var error)) return (null, null);
            if (error.ValueKind == JsonValueKind.String)
                return (error.GetString(), doc.RootElement.TryGetProperty("error_description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null);
            if (error.ValueKind != JsonValueKind.Object) return (null, null);
            string? reason = null;
            if (error.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in errors.EnumerateArray())
                {
                    if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String)
                    {
                        reason = r.GetString();
                        break;
                    }
                }
            }
            if (reason is null && error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String) reason = s.GetString();
            var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return (reason, message);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>One line of at most 300 characters, with URLs cut to their path (a query may hold a token or an upload id).</summary>
    internal static string OneLine(string text)
    {
        var line = Whitespace().Replace(text, " ").Trim();
        line = Url().Replace(line, m => Location.Redact(m.Value));
        return line.Length <= 300 ? line : string.Create(CultureInfo.InvariantCulture, $"{line[..300]}...");
    }

    private static async Task<string> ReadCappedAsync(HttpContent content, int cap, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[cap];
        var total = 0;
        int n;
        while (total < cap && (n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0) total += n;
        return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex Url();
}
