using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.S3;

/// <summary>
/// Maps what the AWS SDK throws to a named error: NoSuchBucket / NoSuchKey / 404 NotFound; 403, InvalidAccessKeyId,
/// SignatureDoesNotMatch Auth; 5xx, throttling and connection failures Transient (with Retry-After when the server
/// sent one); 412 SourceChanged; KeyTooLongError Usage; any other 4xx Permanent. Messages are one line, name the
/// location and the S3 error code, and never hold a credential.
/// </summary>
internal static class S3Errors
{
    /// <summary>Runs one SDK call, translating its failure. Cancellation by the caller passes through untouched.</summary>
    public static async Task<T> CallAsync<T>(Func<Task<T>> call, S3Path where, string endpoint, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not LoadPipeException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw Translate(e, where, endpoint);
        }
    }

    public static bool IsNotFound(AmazonServiceException e) =>
        e.StatusCode == HttpStatusCode.NotFound || e.ErrorCode is "NoSuchKey" or "NotFound" or "NoSuchBucket" or "NoSuchUpload";

    /// <summary>The server does not implement the operation (s3rver's ListParts and AbortMultipartUpload).</summary>
    public static bool IsUnsupported(Exception e) => Service(e) is { } s
        && (s.StatusCode is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented || s.ErrorCode is "NotImplemented" or "MethodNotAllowed");

    /// <summary>The service error behind <paramref name="e"/>, whether raw or already translated.</summary>
    public static AmazonServiceException? Service(Exception e) => e as AmazonServiceException ?? e.InnerException as AmazonServiceException;

    public static string? Code(Exception e) => Service(e)?.ErrorCode;

    public static LoadPipeException Translate(Exception e, S3Path where, string endpoint) => e switch
    {
        AmazonServiceException s => FromService(s, where),
        _ when Socket(e) is { } socket => FromSocket(socket, endpoint, e),
        OperationCanceledException or TimeoutException =>
            new LoadPipeException(ErrorKind.Transient, $"{where}: no answer from {endpoint} in time", e),
        HttpRequestException or IOException =>
            new LoadPipeException(ErrorKind.Transient, $"{where}: the connection to {endpoint} failed ({Innermost(e).Message})", e),
        AmazonClientException when e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
            new LoadPipeException(ErrorKind.Auth,
                $"{where}: no AWS credentials found: set access_key_id and secret_access_key on the remote, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an AWS profile", e),
        AmazonClientException when e.InnerException is HttpRequestException or IOException =>
            new LoadPipeException(ErrorKind.Transient, $"{where}: the connection to {endpoint} failed ({Innermost(e).Message})", e),
        _ => new LoadPipeException(ErrorKind.Permanent, $"{where}: {e.GetType().Name}: {FirstLine(e.Message)}", e),
    };

    private static LoadPipeException FromService(AmazonServiceException e, S3Path where)
    {
        var code = string.IsNullOrEmpty(e.ErrorCode) ? ((int)e.StatusCode).ToString(CultureInfo.InvariantCulture) : e.ErrorCode;
        var status = (int)e.StatusCode;
        var detail = $"{code}, HTTP {status}";
        return code switch
        {
            "NoSuchBucket" => new LoadPipeException(ErrorKind.NotFound, $"bucket '{where.Bucket}' does not exist ({where})", e),
            "NoSuchKey" => new LoadPipeException(ErrorKind.NotFound, $"{where}: no such object", e),
            "NoSuchUpload" => new LoadPipeException(ErrorKind.NotFound, $"{where}: the multipart upload no longer exists (NoSuchUpload)", e),
            "InvalidAccessKeyId" => new LoadPipeException(ErrorKind.Auth,
                $"{where}: the server does not know this access key id ({detail}): check access_key_id or AWS_ACCESS_KEY_ID", e),
            "SignatureDoesNotMatch" => new LoadPipeException(ErrorKind.Auth,
                $"{where}: the request signature does not match ({detail}): check secret_access_key or AWS_SECRET_ACCESS_KEY, and the region", e),
            "ExpiredToken" or "InvalidToken" or "TokenRefreshRequired" => new LoadPipeException(ErrorKind.Auth,
                $"{where}: the session token is expired or invalid ({detail})", e),
            "AccessDenied" or "AllAccessDisabled" or "AccountProblem" => new LoadPipeException(ErrorKind.Auth,
                $"{where}: access denied ({detail}): the credentials lack a permission for this bucket or key", e),
            "KeyTooLongError" => new LoadPipeException(ErrorKind.Usage, $"{where}: the key is longer than the server allows ({detail})", e),
            "PreconditionFailed" => new SourceChangedException($"{where} changed since the transfer started ({detail})"),
            "SlowDown" or "Throttling" or "ThrottlingException" or "RequestTimeout" or "RequestTimeTooSkewed" or "InternalError"
                or "ServiceUnavailable" or "OperationAborted" => Transient(e, $"{where}: the server asks to try again ({detail})"),
            _ => status switch
            {
                404 => new LoadPipeException(ErrorKind.NotFound, $"{where}: not found ({detail})", e),
                401 or 403 => new LoadPipeException(ErrorKind.Auth, $"{where}: access denied ({detail})", e),
                412 => new SourceChangedException($"{where} changed since the transfer started ({detail})"),
                408 or 429 or >= 500 => Transient(e, $"{where}: the server failed ({detail})"),
                _ => new LoadPipeException(ErrorKind.Permanent, $"{where}: {FirstLine(e.Message)} ({detail})", e),
            },
        };
    }

    private static LoadPipeException Transient(AmazonServiceException e, string message) =>
        new(ErrorKind.Transient, message, e) { RetryAfter = RetryAfter(e) };

    private static LoadPipeException FromSocket(SocketException socket, string endpoint, Exception e) => socket.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => new LoadPipeException(ErrorKind.Transient,
            $"cannot connect to {endpoint}: connection refused (is the endpoint right, and the server running?)", e),
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => new LoadPipeException(ErrorKind.Transient,
            $"cannot connect to {endpoint}: the host name does not resolve (is the endpoint right?)", e),
        SocketError.TimedOut => new LoadPipeException(ErrorKind.Transient, $"cannot connect to {endpoint}: timed out", e),
        _ => new LoadPipeException(ErrorKind.Transient, $"the connection to {endpoint} failed: {socket.Message}", e),
    };

    private static SocketException? Socket(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SocketException s) return s;
        return null;
    }

    /// <summary>The Retry-After header of the failed response, when the SDK kept it.</summary>
    private static TimeSpan? RetryAfter(AmazonServiceException e)
    {
        if (e.InnerException is not HttpErrorResponseException { Response: { } response }) return null;
        var value = response.GetHeaderValue("Retry-After");
        if (string.IsNullOrEmpty(value)) return null;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(seconds);
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
