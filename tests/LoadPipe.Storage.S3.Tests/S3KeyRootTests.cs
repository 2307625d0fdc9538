using LoadPipe.Core.Locations;

namespace LoadPipe.Storage.S3.Tests;

/// <summary>An S3 remote is keyed in the manifest by what it points at: the endpoint, or AWS, where bucket names are unique.</summary>
public sealed class S3KeyRootTests
{
    private static string? Root(params (string Key, string Value)[] settings) =>
        new S3StorageFactory().KeyRoot(new RemoteDefinition("any", "s3", settings.ToDictionary(s => s.Key, s => s.Value)));

    [Fact]
    public void KeyRoot_Endpoint_IsItsSchemeHostAndPortWithoutCredentials()
    {
        var root = Root(("endpoint", "HTTP://Minio.Example:9000/"), ("access_key_id", "AKIA"), ("secret_access_key", "s3cr3t"));

        Assert.Equal("s3+http://minio.example:9000/", root);
        Assert.Equal(root, Root(("endpoint", "http://minio.example:9000"), ("region", "eu-west-1")));
        Assert.Equal("s3+https://r2.example/", Root(("endpoint", "https://r2.example:443")));
    }

    [Fact]
    public void KeyRoot_Aws_IsTheSameWhateverTheRegion() =>
        Assert.Equal(("s3://", "s3://"), (Root(("region", "eu-west-1")), Root()));
}
