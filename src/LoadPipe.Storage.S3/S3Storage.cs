using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Streams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadPipe.Storage.S3;

/// <summary>
/// Amazon S3 and S3-compatible servers, through the AWS SDK. Paths are "bucket/key"; a bucket, or a prefix that
/// has objects under it, is a folder. Identity: the ETag (quoted, as S3 sends it), with size and LastModified; a
/// single-part ETag is also the object's MD5, offered as its "md5" hash when the object is not KMS- or
/// customer-key-encrypted. Reads are ranged GetObjects pinned to the ETag. Writes become visible only at commit:
/// one PutObject for an object that fits in one write, else a multipart upload whose parts survive the process
/// (<see cref="S3WriteSession"/>). Copies inside one endpoint are done by the server (CopyObject, or
/// UploadPartCopy above 5 GiB).
/// </summary>
public sealed class S3Storage : IStorage, IRangedReader, ISnapshotReads, ISortedListing, IWritableStorage, IResumableWriter, IServerSideCopier, IObjectRemover
{
    private readonly S3StorageOptions _options;

    internal S3StorageOptions Options => _options;

    public S3Storage(IAmazonS3 client, S3StorageOptions options, ILogger? logger = null)
    {
        Client = client;
        _options = options;
        Logger = logger ?? NullLogger.Instance;
        Server = options.Endpoint is { } endpoint
            ? new UriBuilder(endpoint) { UserName = "", Password = "" }.Uri.GetLeftPart(UriPartial.Authority)
            : $"AWS S3 ({client.Config.RegionEndpoint?.SystemName ?? options.Region ?? "default region"})";
    }

    public string Description => $"S3 '{_options.Name}' at {Server}";

    internal IAmazonS3 Client { get; }

    internal ILogger Logger { get; }

    /// <summary>The endpoint, for messages: "http://127.0.0.1:9000" or "AWS S3 (eu-west-1)".</summary>
    internal string Server { get; }

    internal S3Path Parse(string path) => S3Path.Parse(_options.Name, path);

    internal S3Path ParseObject(string path) => S3Path.ParseObject(_options.Name, path);

    /// <summary>One SDK call with its failure translated (<see cref="S3Errors"/>).</summary>
    internal Task<T> CallAsync<T>(S3Path where, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        S3Errors.CallAsync(() => call(cancellationToken), where, Server, cancellationToken);

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var where = Parse(path);
        var prefix = where.FolderPrefix;
        string? token = null;
        var any = false;
        // S3 never repeats a folder across pages, but some servers do (s3rver pages on object keys only): the
        // folder names of one level are remembered to list each once.
        var folders = recursive ? null : new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var page = await ListPageAsync(where, prefix, recursive ? null : "/", _options.ListChunk, token, cancellationToken).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
            {
                any = true;
                var relative = o.Key[prefix.Length..];
                if (relative.Length == 0) continue; // the folder's own marker object ("prefix/")
                yield return relative.EndsWith('/')
                    ? Folder(relative.TrimEnd('/'), o.LastModified)
                    : Describe(relative, o.Size ?? -1, o.LastModified, o.ETag, md5Trusted: false);
            }
            foreach (var common in page.CommonPrefixes ?? [])
            {
                any = true;
                if (folders?.Add(common) == false) continue;
                yield return Folder(common[prefix.Length..].TrimEnd('/'), null);
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (!string.IsNullOrEmpty(token));
        if (!any && prefix.Length > 0)
            throw new LoadPipeException(ErrorKind.NotFound, $"{where}: no such folder (no object has the prefix '{prefix}')");
    }

    public async Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        var where = Parse(path);
        if (where.Key.Length > 0 && !where.Key.EndsWith('/') && await HeadAsync(where, cancellationToken).ConfigureAwait(false) is { } head)
            return Describe(path, head);
        // A bucket, or a prefix with objects under it, is a folder. The listing also tells a missing bucket
        // (NoSuchBucket) from a missing key, which a HEAD cannot.
        var page = await ListPageAsync(where, where.FolderPrefix, null, 1, null, cancellationToken).ConfigureAwait(false);
        return where.Key.Length == 0 || page.S3Objects is { Count: > 0 } ? Folder(path, null) : null;
    }

    public async Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        var where = ParseObject(path);
        var request = new GetObjectRequest { BucketName = where.Bucket, Key = where.Key, EtagToMatch = options.IfVersion };
        if (options.Offset > 0) request.ByteRange = new ByteRange(string.Create(CultureInfo.InvariantCulture, $"bytes={options.Offset}-"));
        GetObjectResponse response;
        try
        {
            response = await Client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException e) when (options.Offset > 0 && (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || e.ErrorCode == "InvalidRange"))
        {
            // Asked to start at the very end (everything was already read): nothing more. A source that really
            // shrank is caught by the engine, which compares the bytes read with the size it was told.
            return Stream.Null;
        }
        catch (Exception e) when (e is not LoadPipeException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw S3Errors.Translate(e, where, Server);
        }
        // Not every S3-compatible server honours If-Match on GET (s3rver ignores it): check the answer too.
        if (options.IfVersion is { } expected && response.ETag is { } actual && actual != expected)
        {
            response.Dispose();
            throw new SourceChangedException($"{where} changed since the transfer started (ETag {expected} -> {actual})");
        }
        if (options.Offset > 0 && response.HttpStatusCode != HttpStatusCode.PartialContent)
        {
            response.Dispose();
            throw new LoadPipeException(ErrorKind.Permanent, $"{where}: {Server} ignored the range asked for (HTTP {(int)response.HttpStatusCode})");
        }
        return new IdleTimeoutStream(response.ResponseStream, response, S3Defaults.ReadIdleTimeout, where.ToString());
    }

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
    {
        var where = ParseObject(path);
        if (request.ExpectedSize > S3Defaults.MaxObjectSize)
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: {request.ExpectedSize} bytes is more than S3's largest object (5 TiB)");
        return Task.FromResult<IWriteSession>(new S3WriteSession(this, where, request, S3WriteSession.MinimumPartSize(request.ExpectedSize)));
    }

    public async Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default) =>
        await S3WriteSession.ResumeAsync(this, ParseObject(path), resumeState, confirmedLength, request, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// CopyObject for objects up to 5 GiB, else a multipart upload of UploadPartCopy ranges; both pinned to the
    /// source's ETag. Only between stores on the same endpoint; another store, or an account here that may not
    /// read the source, throws <see cref="CantCopyException"/> and the engine streams the bytes instead.
    /// </summary>
    public async Task<ObjectInfo> CopyFromAsync(IStorage source, string sourcePath, string destinationPath, CancellationToken cancellationToken = default)
    {
        if (source is not S3Storage other || other._options.EndpointIdentity != _options.EndpointIdentity)
            throw new CantCopyException($"{source.Description} and {Description} are not the same S3 endpoint");
        var from = other.ParseObject(sourcePath);
        var to = ParseObject(destinationPath);
        try
        {
            var head = await HeadAsync(from, cancellationToken).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.NotFound, $"{from}: no such object");
            var size = head.ContentLength;
            ObjectInfo copied;
            if (size <= S3Defaults.MaxSingleCopySize)
            {
                var response = await CallAsync(to, ct => Client.CopyObjectAsync(new CopyObjectRequest
                {
                    SourceBucket = from.Bucket, SourceKey = from.Key, DestinationBucket = to.Bucket, DestinationKey = to.Key,
                    ETagToMatch = head.ETag,
                }, ct), cancellationToken).ConfigureAwait(false);
                var sourceInfo = Describe(sourcePath, head);
                copied = new ObjectInfo
                {
                    Path = destinationPath, Size = size, Version = response.ETag, Hashes = sourceInfo.Hashes,
                    Modified = DateTimeOffset.TryParse(response.LastModified, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var m) ? m : null,
                };
                Logger.CopiedServerSide(to.ToString(), from.ToString(), size, 1);
            }
            else copied = await CopyInPartsAsync(from, to, head, destinationPath, cancellationToken).ConfigureAwait(false);
            return copied;
        }
        catch (LoadPipeException e) when (e.Kind == ErrorKind.Auth && !ReferenceEquals(other, this))
        {
            // Another remote's credentials may read what ours may not: let the engine stream it through them.
            throw new CantCopyException($"{Description} may not read {from} ({e.Message})");
        }
    }

    private async Task<ObjectInfo> CopyInPartsAsync(S3Path from, S3Path to, GetObjectMetadataResponse head, string destinationPath, CancellationToken cancellationToken)
    {
        var size = head.ContentLength;
        var partSize = Math.Max(S3Defaults.CopyPartSize, (size + S3Defaults.MaxParts - 1) / S3Defaults.MaxParts);
        var start = await CallAsync(to, ct => Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = to.Bucket, Key = to.Key, ContentType = head.Headers.ContentType,
        }, ct), cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            for (long offset = 0; offset < size; offset += partSize)
            {
                var number = parts.Count + 1;
                var last = Math.Min(size, offset + partSize) - 1;
                var part = await CallAsync(to, ct => Client.CopyPartAsync(new CopyPartRequest
                {
                    SourceBucket = from.Bucket, SourceKey = from.Key, DestinationBucket = to.Bucket, DestinationKey = to.Key,
                    UploadId = start.UploadId, PartNumber = number, FirstByte = offset, LastByte = last, ETagToMatch = [head.ETag],
                }, ct), cancellationToken).ConfigureAwait(false);
                parts.Add(new PartETag(number, part.ETag));
            }
            var done = await CallAsync(to, ct => Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = to.Bucket, Key = to.Key, UploadId = start.UploadId, PartETags = parts,
            }, ct), cancellationToken).ConfigureAwait(false);
            Logger.CopiedServerSide(to.ToString(), from.ToString(), size, parts.Count);
            return new ObjectInfo { Path = destinationPath, Size = size, Version = done.ETag };
        }
        catch
        {
            try
            {
                await Client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = to.Bucket, Key = to.Key, UploadId = start.UploadId },
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception) { /* best effort: the bucket's lifecycle rule removes abandoned uploads */ }
            throw;
        }
    }

    /// <summary>S3's DeleteObject answers 204 whether or not the key existed: a HEAD first tells which.</summary>
    public async Task<bool> RemoveAsync(string path, CancellationToken cancellationToken = default)
    {
        var where = ParseObject(path);
        if (await HeadAsync(where, cancellationToken).ConfigureAwait(false) is null) return false;
        await CallAsync(where, ct => Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = where.Bucket, Key = where.Key }, ct), cancellationToken)
            .ConfigureAwait(false);
        return true;
    }

    /// <summary>HeadObject; null when there is no such object (a HEAD cannot tell a missing bucket from a missing key).</summary>
    internal async Task<GetObjectMetadataResponse?> HeadAsync(S3Path where, CancellationToken cancellationToken)
    {
        try
        {
            return await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = where.Bucket, Key = where.Key }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (AmazonServiceException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw S3Errors.Translate(e, where, Server);
        }
    }

    private Task<ListObjectsV2Response> ListPageAsync(S3Path where, string prefix, string? delimiter, int maxKeys, string? token, CancellationToken cancellationToken) =>
        CallAsync(where, ct => Client.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = where.Bucket, Prefix = prefix, Delimiter = delimiter, MaxKeys = maxKeys, ContinuationToken = token,
        }, ct), cancellationToken);

    private static ObjectInfo Describe(string path, GetObjectMetadataResponse head)
    {
        // With SSE-KMS or a customer key the ETag is not the MD5 of the content.
        var kms = head.ServerSideEncryptionMethod?.Value?.StartsWith("aws:kms", StringComparison.Ordinal) == true;
        var customerKey = head.ServerSideEncryptionCustomerMethod is { } c && c != ServerSideEncryptionCustomerMethod.None;
        var info = Describe(path, head.ContentLength, head.LastModified, head.ETag, md5Trusted: !kms && !customerKey);
        // The source's modified time, stored at upload (rclone's x-amz-meta-mtime), is the one to compare.
        return head.Metadata["x-amz-meta-mtime"] is { Length: > 0 } mtime
            && double.TryParse(mtime, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? info with { Modified = DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000)) }
            : info;
    }

    private static ObjectInfo Describe(string path, long size, DateTime? modified, string? etag, bool md5Trusted)
    {
        var hashes = new Dictionary<string, string>();
        if (md5Trusted && S3WriteSession.Md5OfETag(etag) is { } md5) hashes["md5"] = md5;
        return new ObjectInfo { Path = path, Size = size, Modified = Utc(modified), Version = etag, Hashes = hashes };
    }

    private static ObjectInfo Folder(string path, DateTime? modified) => new() { Path = path, Size = 0, Modified = Utc(modified), IsDirectory = true };

    private static DateTimeOffset? Utc(DateTime? time) => time switch
    {
        null => null,
        { Kind: DateTimeKind.Unspecified } t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
        { } t => new DateTimeOffset(t.ToUniversalTime()),
    };
}
