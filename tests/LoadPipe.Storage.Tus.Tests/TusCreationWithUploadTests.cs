using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.Tus.Tests.Support;
using static LoadPipe.Storage.Tus.Tests.Support.TusUploads;

namespace LoadPipe.Storage.Tus.Tests;

/// <summary>Creation with upload (the first write is the POST's body, where the server offers it) and a remote's extra
/// request headers.</summary>
public sealed class TusCreationWithUploadTests
{
    [Fact]
    public async Task WriteAsync_ServerOffersCreationWithUpload_TheFirstChunkGoesInThePostWithItsChecksum()
    {
        await using var server = await ChecksumTusServer.StartAsync("sha1");
        server.CreationWithUpload = true;
        var content = Random(3 * Chunk + 100);

        await UploadAsync(StorageOn(server), content);

        Assert.Equal([("POST", (long)Chunk), ("PATCH", Chunk), ("PATCH", Chunk), ("PATCH", 100)], server.Requests);
        Assert.Equal(4, server.ChecksumsReceived.Count);
        Assert.All(server.ChecksumsReceived, c => Assert.StartsWith("sha1 ", c));
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(server.Content));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(0)]
    public async Task CommitAsync_SmallObjectOnAServerWithCreationWithUpload_IsOneRequest(int size)
    {
        await using var server = await ChecksumTusServer.StartAsync();
        server.CreationWithUpload = true;
        var content = Random(size);

        await using (var session = await StorageOn(server).BeginWriteAsync("folder/small.bin", new WriteRequest { ExpectedSize = size }))
        {
            Assert.Null(session.ResumeState); // nothing to resume before the upload exists
            if (size > 0) await session.WriteFinalAsync(content);
            Assert.Equal(size, (await session.CommitAsync()).Size);
            Assert.Contains("/files/1", session.ResumeState);
        }

        Assert.Equal([("POST", (long)size)], server.Requests);
        Assert.Equal(content, server.Content);
    }

    [Fact]
    public async Task Headers_OfATusRemote_AreSentWithEveryRequestAndNeverShown()
    {
        await using var server = await ChecksumTusServer.StartAsync();
        server.CreationWithUpload = true;
        server.RequiredHeader = ("X-Upload-Key", "k3y-s3cret");
        var content = Random(2 * Chunk + 10);
        var settings = new Dictionary<string, string> { ["url"] = server.Endpoint.AbsoluteUri, ["headers.X-Upload-Key"] = "k3y-s3cret" };
        // Through the resolver, as a config's remote is: it takes "headers.NAME" settings for a tus remote.
        var resolver = new LocationResolver([new TusStorageFactory()], new Dictionary<string, RemoteDefinition> { ["keyed"] = new("keyed", "tus", settings) });
        var bare = (TusStorage)new TusStorageFactory().Create(new RemoteDefinition("bare", "tus", new Dictionary<string, string> { ["url"] = server.Endpoint.AbsoluteUri }));

        await UploadAsync((TusStorage)resolver.Resolve("keyed:").Storage, content);
        await using var refusedSession = await bare.BeginWriteAsync("folder/file.bin", new WriteRequest { ExpectedSize = 1 });
        var refused = await Assert.ThrowsAnyAsync<LoadPipeException>(() => refusedSession.WriteFinalAsync(new byte[1]));

        Assert.Equal(SHA256.HashData(content), SHA256.HashData(server.Content));
        Assert.Equal(ErrorKind.Auth, refused.Kind);
        Assert.DoesNotContain("k3y", refused.Message);
    }

    [Theory]
    [InlineData("headers.Upload-Offset", "1")]
    [InlineData("headers.Bad Name", "x")]
    [InlineData("headers.X-Key", "two\nlines")]
    public void Headers_ThatTusSetsOrThatAreNotHeaders_AreAUsageErrorThatShowsNoValue(string key, string value)
    {
        var remote = new RemoteDefinition("up", "tus", new Dictionary<string, string> { ["url"] = "https://tus.example.org/files/", [key] = value });

        var e = Assert.Throws<LoadPipeException>(() => new TusStorageFactory().Create(remote));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.DoesNotContain(value, e.Message);
    }
}
