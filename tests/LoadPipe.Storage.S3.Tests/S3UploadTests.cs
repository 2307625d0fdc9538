using Amazon.S3;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Conformance;
using LoadPipe.Storage.S3.Tests.Support;

namespace LoadPipe.Storage.S3.Tests;

/// <summary>The push entry on S3 (s3rver): appends that end inside a part keep their tail in the manifest until a part
/// of 5 MiB or more can be sent; an object smaller than a part is one PutObject at the completion.</summary>
public sealed class S3UploadTests : UploadContractTests
{
    private readonly TempFolder _folder = new();
    private readonly string _prefix = S3Server.NewPrefix("push");

    protected override async Task<IManifest> OpenManifestAsync() => await SqliteManifest.OpenAsync(_folder["state/manifest.db"]);

    protected override LocationResolver Resolver { get; } = S3Server.Resolver();

    protected override string Destination(string name) => $"{S3Server.Remote}:{S3Server.Bucket}/{_prefix}/{name}";

    protected override async Task<byte[]?> ReadObjectAsync(string name)
    {
        try
        {
            return await S3Server.GetAsync($"{_prefix}/{name}");
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}
