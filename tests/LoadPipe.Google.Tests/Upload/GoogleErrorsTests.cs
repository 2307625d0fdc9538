using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Google.Http;

namespace LoadPipe.Google.Tests.Upload;

/// <summary>Google's JSON errors mapped to error kinds; no server needed.</summary>
public sealed class GoogleErrorsTests
{
    private static string ApiError(int code, string reason, string message = "m") =>
        "{\"error\":{\"code\":" + code + ",\"message\":\"" + message + "\",\"errors\":[{\"domain\":\"usageLimits\",\"reason\":\"" + reason
        + "\",\"message\":\"" + message + "\"}]}}";

    [Theory]
    [InlineData(403, "rateLimitExceeded", ErrorKind.Transient)]
    [InlineData(403, "userRateLimitExceeded", ErrorKind.Transient)]
    [InlineData(429, "rateLimitExceeded", ErrorKind.Transient)]
    [InlineData(408, "timeout", ErrorKind.Transient)]
    [InlineData(500, "backendError", ErrorKind.Transient)]
    [InlineData(503, "backendError", ErrorKind.Transient)]
    [InlineData(404, "notFound", ErrorKind.NotFound)]
    [InlineData(401, "authError", ErrorKind.Auth)]
    [InlineData(403, "insufficientPermissions", ErrorKind.Auth)]
    [InlineData(403, "forbidden", ErrorKind.Auth)]
    [InlineData(400, "badRequest", ErrorKind.Permanent)]
    [InlineData(403, "quotaExceeded", ErrorKind.Permanent)]
    [InlineData(403, "uploadLimitExceeded", ErrorKind.Permanent)]
    [InlineData(403, "dailyLimitExceeded", ErrorKind.Permanent)]
    public void Create_GoogleErrorBody_HasTheKindOfItsStatusAndReason(int status, string reason, ErrorKind kind)
    {
        var e = GoogleErrors.Create((HttpStatusCode)status, ApiError(status, reason), null, "op");

        Assert.Equal(kind, e.Kind);
        Assert.Equal(reason, e.Reason);
        Assert.Equal((HttpStatusCode)status, e.Status);
    }

    [Fact]
    public void Create_QuotaReason_IsRecognisableAndSaysSo()
    {
        var e = GoogleErrors.Create(HttpStatusCode.Forbidden, ApiError(403, "quotaExceeded"), TimeSpan.FromSeconds(3), "yt: upload");

        Assert.True(e.IsQuotaExhausted);
        Assert.Contains("quota exhausted (quotaExceeded)", e.Message, StringComparison.Ordinal);
        Assert.Null(e.RetryAfter);
    }

    [Fact]
    public void Create_RateLimitWithRetryAfter_KeepsTheDelay()
    {
        var e = GoogleErrors.Create(HttpStatusCode.TooManyRequests, ApiError(429, "rateLimitExceeded"), TimeSpan.FromSeconds(12), "op");

        Assert.Equal(TimeSpan.FromSeconds(12), e.RetryAfter);
        Assert.False(e.IsQuotaExhausted);
    }

    [Fact]
    public void Create_MessageWithUrlAndNewlines_IsOneLineWithoutTheQuery()
    {
        var e = GoogleErrors.Create(HttpStatusCode.BadRequest,
            ApiError(400, "badContent", "bad range for https://host/upload/drive/v3/files?upload_id=SECRET\\nsecond line"), null, "op");

        Assert.DoesNotContain("SECRET", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("https://host/upload/drive/v3/files", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_OAuthErrorOrNoBody_StillClassified()
    {
        var oauth = GoogleErrors.Create(HttpStatusCode.BadRequest, """{"error":"invalid_grant","error_description":"Bad Request"}""", null, "token");
        var empty = GoogleErrors.Create(HttpStatusCode.BadGateway, "<html>bad gateway</html>", null, "op");

        Assert.Equal("invalid_grant", oauth.Reason);
        Assert.Equal(ErrorKind.Permanent, oauth.Kind);
        Assert.Equal(ErrorKind.Transient, empty.Kind);
        Assert.Null(empty.Reason);
    }

    [Fact]
    public void RetryAfterOf_DateInThePast_IsNoWait()
    {
        var now = DateTimeOffset.UtcNow;
        var past = new System.Net.Http.Headers.RetryConditionHeaderValue(now.AddMinutes(-1));
        var future = new System.Net.Http.Headers.RetryConditionHeaderValue(now.AddSeconds(30));

        Assert.Equal(TimeSpan.Zero, GoogleErrors.RetryAfterOf(past, now));
        Assert.Equal(30, GoogleErrors.RetryAfterOf(future, now)!.Value.TotalSeconds, precision: 0);
    }
}
