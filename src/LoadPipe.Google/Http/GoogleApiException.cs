using System.Net;
using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Http;

/// <summary>
/// A Google API answered with an error. <see cref="LoadPipeException.Kind"/> says what to do about it (see
/// <see cref="GoogleErrors.Classify"/>); <see cref="Reason"/> is Google's own word for it ("userRateLimitExceeded",
/// "quotaExceeded", "notFound"...), for callers that treat some reasons specially (the YouTube quota stop).
/// </summary>
public sealed class GoogleApiException(ErrorKind kind, string message, HttpStatusCode status, string? reason)
    : LoadPipeException(kind, message)
{
    /// <summary>The HTTP status Google answered with.</summary>
    public HttpStatusCode Status { get; } = status;

    /// <summary>The first error's reason ("rateLimitExceeded"), or the OAuth error code ("invalid_grant"); null when
    /// the body said none.</summary>
    public string? Reason { get; } = reason;

    /// <summary>A daily or per-project quota is used up: no retry helps before the quota resets.</summary>
    public bool IsQuotaExhausted => GoogleErrors.IsQuotaReason(Reason);
}
