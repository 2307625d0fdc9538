using System.ComponentModel.DataAnnotations;

namespace LoadPipe.Storage.S3;

/// <summary>S3's own limits and LoadPipe's defaults for it, in one place; docs/adapters/s3.md repeats them.</summary>
public static class S3Defaults
{
    /// <summary>Smallest part S3 accepts, but for the last: 5 MiB.</summary>
    public const int MinPartSize = 5 << 20;

    /// <summary>Most parts in one multipart upload: 10,000.</summary>
    public const int MaxParts = 10_000;

    /// <summary>Largest object: 5 TiB.</summary>
    public const long MaxObjectSize = 5L << 40;

    /// <summary>Largest object CopyObject copies in one request: 5 GiB. Larger ones are copied part by part.</summary>
    public const long MaxSingleCopySize = 5L << 30;

    /// <summary>Part size for UploadPartCopy of large objects (grown to stay under <see cref="MaxParts"/>): 512 MiB.</summary>
    public const long CopyPartSize = 512L << 20;

    /// <summary>Longest key, in UTF-8 bytes: 1024.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Keys per ListObjectsV2 page (rclone's list_chunk): 1000, also S3's maximum.</summary>
    public const int ListChunk = 1000;

    /// <summary>Parts of one multipart upload sent at once: 4 (rclone's default; the AWS CLI sends 10).</summary>
    public const int UploadConcurrency = 4;

    /// <summary>Region signed for when an endpoint is given without one: us-east-1.</summary>
    public const string EndpointRegion = "us-east-1";

    /// <summary>Tries the SDK makes itself before an error reaches the engine's retries: 2.</summary>
    public const int SdkRetries = 2;

    /// <summary>Longest wait for a TCP connection: 15 s.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Longest wait for any byte of a download's body before the read fails as transient: 60 s.</summary>
    public static readonly TimeSpan ReadIdleTimeout = TimeSpan.FromSeconds(60);
}

/// <summary>The settings of one `type: s3` remote. Every property has a default, stated on it.</summary>
public sealed class S3StorageOptions
{
    /// <summary>The remote's name, for messages ("s3" in "s3:bucket/key"). Default "s3".</summary>
    public string Name { get; set; } = "s3";

    /// <summary>`endpoint`: an S3-compatible server's URL (MinIO, R2, s3rver). Default none: AWS, by region.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>`region`. Default none: AWS_REGION / the AWS profile; with an endpoint, <see cref="S3Defaults.EndpointRegion"/>.</summary>
    public string? Region { get; set; }

    /// <summary>`path_style`: http://host/bucket/key rather than http://bucket.host/key. Default true with an endpoint, else false.</summary>
    public bool? PathStyle { get; set; }

    /// <summary>`access_key_id`. Default none: the standard AWS credential chain (AWS_* variables, profile, instance role).</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>`secret_access_key`; given together with <see cref="AccessKeyId"/>. Never logged or shown.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>`list_chunk`: keys per listing request. Default <see cref="S3Defaults.ListChunk"/>.</summary>
    [Range(1, S3Defaults.ListChunk)]
    public int ListChunk { get; set; } = S3Defaults.ListChunk;

    /// <summary>`upload_concurrency`: parts of one multipart upload sent at once, each holding one chunk in memory.
    /// Default <see cref="S3Defaults.UploadConcurrency"/>.</summary>
    [Range(1, 64)]
    public int UploadConcurrency { get; set; } = S3Defaults.UploadConcurrency;

    /// <summary>What <see cref="S3Storage.CopyFromAsync"/> compares: two stores copy server-side only when they talk to the same endpoint.</summary>
    internal string EndpointIdentity => Endpoint is { } e ? e.GetLeftPart(UriPartial.Authority).ToLowerInvariant() : "aws";
}
