using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.S3.Tests;

/// <summary>The mapping of S3 error codes, for the answers s3rver never gives (it does not check V4 signatures,
/// throttle, or fail).</summary>
public sealed class S3ErrorsTests
{
    private static readonly S3Path Where = S3Path.Parse("s3", "bucket/key");

    [Theory]
    [InlineData("SignatureDoesNotMatch", HttpStatusCode.Forbidden, ErrorKind.Auth)]
    [InlineData("InvalidAccessKeyId", HttpStatusCode.Forbidden, ErrorKind.Auth)]
    [InlineData("AccessDenied", HttpStatusCode.Forbidden, ErrorKind.Auth)]
    [InlineData("", HttpStatusCode.Forbidden, ErrorKind.Auth)]
    [InlineData("NoSuchBucket", HttpStatusCode.NotFound, ErrorKind.NotFound)]
    [InlineData("NoSuchKey", HttpStatusCode.NotFound, ErrorKind.NotFound)]
    [InlineData("SlowDown", HttpStatusCode.ServiceUnavailable, ErrorKind.Transient)]
    [InlineData("InternalError", HttpStatusCode.InternalServerError, ErrorKind.Transient)]
    [InlineData("", HttpStatusCode.BadGateway, ErrorKind.Transient)]
    [InlineData("KeyTooLongError", HttpStatusCode.BadRequest, ErrorKind.Usage)]
    [InlineData("PreconditionFailed", HttpStatusCode.PreconditionFailed, ErrorKind.SourceChanged)]
    [InlineData("EntityTooSmall", HttpStatusCode.BadRequest, ErrorKind.Permanent)]
    public void Translate_ServiceError_ItsKind(string code, HttpStatusCode status, ErrorKind kind)
    {
        var error = new AmazonS3Exception("message from the server", ErrorType.Sender, code, "request-id", status);

        var e = S3Errors.Translate(error, Where, "http://127.0.0.1:9000");

        Assert.Equal(kind, e.Kind);
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith(code == "NoSuchBucket" ? "bucket 'bucket' does not exist" : "s3:bucket/key", e.Message);
    }

    [Fact]
    public void IsUnsupported_405And501_True()
    {
        Assert.True(S3Errors.IsUnsupported(new AmazonS3Exception("no", ErrorType.Sender, "MethodNotAllowed", "r", HttpStatusCode.MethodNotAllowed)));
        Assert.True(S3Errors.IsUnsupported(new AmazonS3Exception("no", ErrorType.Sender, "NotImplemented", "r", HttpStatusCode.NotImplemented)));
        Assert.False(S3Errors.IsUnsupported(new AmazonS3Exception("no", ErrorType.Sender, "NoSuchUpload", "r", HttpStatusCode.NotFound)));
    }
}
