using System.Globalization;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.S3;

/// <summary>
/// `type: s3` remotes, located as NAME:bucket/key (a folder: NAME:bucket/prefix/). Settings, all optional:
/// `endpoint` (an S3-compatible server's URL; default AWS), `region` (default AWS_REGION or the AWS profile; with an
/// endpoint, us-east-1), `path_style` (default true with an endpoint, else false), `access_key_id` and
/// `secret_access_key` (together; default the standard AWS credential chain: AWS_ACCESS_KEY_ID and the other AWS_*
/// variables, the shared profile, an instance or container role), `list_chunk` (keys per listing request,
/// 1 to 1000, default 1000), `upload_concurrency` (parts of one upload sent at once, 1 to 64, default 4). With no settings at all it is plain AWS S3, so a remote named like the type works
/// without being defined, when the resolver allows it.
/// </summary>
public sealed class S3StorageFactory(ILoggerFactory? loggers = null) : IStorageFactory
{
    public string Type => "s3";

    public IReadOnlySet<string> Settings { get; } =
        new HashSet<string> { "endpoint", "region", "path_style", "access_key_id", "secret_access_key", "list_chunk", "upload_concurrency" };

    /// <summary>"s3:bucket/key" without a remote named s3: region and credentials from the AWS environment.</summary>
    public bool AllowsImplicitRemote => true;

    public IStorage Create(RemoteDefinition remote) => Create(ReadOptions(remote));

    /// <summary>
    /// "s3+SCHEME://HOST:PORT/" for an S3-compatible endpoint, "s3://" for AWS, where a bucket's name is unique (so
    /// "s3://bucket/key", as the AWS tools write it, whatever region or profile a config reaches it through). The bucket
    /// and key follow, from the location's path. No credential is part of it.
    /// </summary>
    public string? KeyRoot(RemoteDefinition remote) =>
        ReadOptions(remote).Endpoint is { } endpoint ? "s3+" + endpoint.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + "/" : "s3://";

    public S3Storage Create(S3StorageOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.PathStyle ?? options.Endpoint is not null,
            // Checksums only where S3 requires them: LoadPipe sends Content-MD5 itself, and servers other than AWS
            // may not know the newer x-amz-checksum-* headers.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = S3Defaults.SdkRetries,
            ConnectTimeout = S3Defaults.ConnectTimeout,
        };
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.AbsoluteUri;
            config.AuthenticationRegion = options.Region ?? S3Defaults.EndpointRegion;
        }
        else if (options.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        try
        {
            var client = options.AccessKeyId is { } id && options.SecretAccessKey is { } secret
                ? new AmazonS3Client(new BasicAWSCredentials(id, secret), config)
                : new AmazonS3Client(config);
            return new S3Storage(client, options, loggers?.CreateLogger<S3Storage>());
        }
        catch (AmazonClientException e)
        {
            throw new LoadPipeException(ErrorKind.Usage,
                $"remote '{options.Name}' (type s3): {e.Message.TrimEnd('.')}: set 'region' (or 'endpoint') on the remote, or AWS_REGION", e);
        }
    }

    private static S3StorageOptions ReadOptions(RemoteDefinition remote)
    {
        var where = $"{(remote.Origin.Length > 0 ? remote.Origin + ": " : "")}remote '{remote.Name}' (type s3)";
        var options = new S3StorageOptions { Name = remote.Name, Region = NonEmpty(remote.Get("region")) };
        if (NonEmpty(remote.Get("endpoint")) is { } text)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: endpoint '{Location.Redact(text)}' is not an http(s) URL");
            if (uri.UserInfo.Length > 0)
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: put credentials in access_key_id and secret_access_key, not in the endpoint URL");
            options.Endpoint = uri;
        }
        options.PathStyle = remote.Get("path_style") is null ? null : remote.GetBool("path_style", false);
        options.AccessKeyId = NonEmpty(remote.Get("access_key_id"));
        options.SecretAccessKey = NonEmpty(remote.Get("secret_access_key"));
        if ((options.AccessKeyId is null) != (options.SecretAccessKey is null))
            throw new LoadPipeException(ErrorKind.Usage,
                $"{where}: give access_key_id and secret_access_key together, or neither (to use AWS_* variables or the AWS profile)");
        if (remote.Get("list_chunk") is { } chunk)
        {
            if (!int.TryParse(chunk, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > S3Defaults.ListChunk)
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: list_chunk '{chunk}' must be a whole number from 1 to {S3Defaults.ListChunk}");
            options.ListChunk = n;
        }
        if (remote.Get("upload_concurrency") is { } concurrency)
        {
            if (!int.TryParse(concurrency, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 64)
                throw new LoadPipeException(ErrorKind.Usage, $"{where}: upload_concurrency '{concurrency}' must be a whole number from 1 to 64");
            options.UploadConcurrency = n;
        }
        return options;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
