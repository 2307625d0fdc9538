using Amazon.S3.Model;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.Conformance;
using LoadPipe.Storage.S3.Tests.Support;

namespace LoadPipe.Storage.S3.Tests;

/// <summary>The storage contract on the S3 server, under a fresh key prefix per test, listing two keys a page.</summary>
public sealed class S3StorageContractTests : StorageContractTests
{
    private const int PageSize = 2;
    private readonly string _prefix = S3Server.NewPrefix("contract");

    protected override IStorage CreateStorage() => S3Server.Storage(S3Server.Definition(listChunk: PageSize));

    protected override StorageFeatures Features => new()
    {
        RangedRead = true, SortedListing = true, Write = true, ResumableWrite = true, ServerSideCopy = true, Remove = true,
    };

    protected override string Folder => $"{S3Server.Bucket}/{_prefix}";

    protected override int? ListPageSize => PageSize;

    /// <summary>S3's smallest part.</summary>
    protected override int WriteSize => S3Defaults.MinPartSize;

    protected override Task PutAsync(string path, byte[] content) => S3Server.PutAsync(Key(path), content);

    /// <summary>No unfinished multipart upload is left for the key.</summary>
    protected override async Task AssertNoLeftoversAsync(string path)
    {
        var uploads = await S3Server.Client().ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = S3Server.Bucket, Prefix = Key(path) });
        Assert.Empty(uploads.MultipartUploads ?? []);
    }

    private static string Key(string path) => path[(S3Server.Bucket.Length + 1)..];
}
