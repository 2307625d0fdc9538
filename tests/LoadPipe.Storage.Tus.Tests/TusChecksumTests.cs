using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.Tus.Tests.Support;
using static LoadPipe.Storage.Tus.Tests.Support.TusUploads;

namespace LoadPipe.Storage.Tus.Tests;

/// <summary>Per-PATCH checksums ("Checksum" extension): sent when, and only when, the server offers the extension,
/// with the best algorithm it offers; a 460 is a transient error whose retry sends the chunk again.</summary>
public sealed class TusChecksumTests
{
    [Fact]
    public async Task WriteAsync_ServerOffersChecksum_EveryPatchCarriesTheBestOfferedAlgorithm()
    {
        await using var server = await ChecksumTusServer.StartAsync("md5", "sha1");
        var content = Random(3 * Chunk + 100);

        await UploadAsync(server, content);

        Assert.Equal(4, server.ChecksumsReceived.Count);
        Assert.All(server.ChecksumsReceived, c => Assert.StartsWith("sha1 ", c));
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(server.Content));
    }

    [Fact]
    public async Task WriteAsync_ServerWithoutChecksum_NoPatchCarriesUploadChecksum()
    {
        await using var server = await ChecksumTusServer.StartAsync();
        var content = Random(3 * Chunk + 100);

        await UploadAsync(server, content);

        Assert.Equal(4, server.ChecksumsReceived.Count);
        Assert.All(server.ChecksumsReceived, Assert.Null);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(server.Content));
    }

    [Fact]
    public async Task WriteAsync_ChunkRefusedWith460_FailsAsTransientAndTheRetrySendsItAgain()
    {
        await using var server = await ChecksumTusServer.StartAsync("sha1");
        var content = Random(2 * Chunk);
        var storage = StorageOn(server);
        await using var session = await storage.BeginWriteAsync("folder/file.bin", new WriteRequest { ExpectedSize = content.Length });
        await session.WriteAsync(content.AsMemory(0, Chunk));
        server.FailNextWith460 = true;

        var refused = await Assert.ThrowsAnyAsync<LoadPipeException>(() => session.WriteFinalAsync(content.AsMemory(Chunk)));
        Assert.Equal(ErrorKind.Transient, refused.Kind);
        Assert.Contains("460", refused.Message);
        await session.WriteFinalAsync(content.AsMemory(Chunk)); // what the engine's retry does
        var committed = await session.CommitAsync();

        Assert.Equal(content.Length, committed.Size);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(server.Content));
    }

    [Fact]
    public async Task BeginWriteAsync_ServerAsksForABearerToken_TheRemotesTokenIsSentAndNeverShown()
    {
        await using var server = await ChecksumTusServer.StartAsync("sha1");
        server.RequiredToken = "s3cr3t-token";
        var content = Random(Chunk + 10);
        var withToken = new TusStorageFactory().Create(new TusStorageOptions { Name = "auth", Endpoint = server.Endpoint, BearerToken = "s3cr3t-token" });
        var withoutToken = StorageOn(server);

        await UploadAsync(withToken, content);
        var refused = await Assert.ThrowsAnyAsync<LoadPipeException>(() => withoutToken.BeginWriteAsync("folder/file.bin", new WriteRequest { ExpectedSize = 1 }));

        Assert.Equal(SHA256.HashData(content), SHA256.HashData(server.Content));
        Assert.Equal(ErrorKind.Auth, refused.Kind);
        Assert.DoesNotContain("s3cr3t", refused.Message);
    }
}
