using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.Tus.Tests.Support;

namespace LoadPipe.Storage.Tus.Tests;

/// <summary>tus+http(s) locations, and uploads of a length the engine does not know (output of stages) or of none, on
/// the reference server.</summary>
public sealed class TusStorageTests
{
    private readonly string _folder = "t" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public void Resolve_TusUrlOfTheEndpoint_IsAFolderWhoseChildKeyResolvesBackToIt()
    {
        var resolver = new LocationResolver([new TusStorageFactory()]);

        var endpoint = resolver.Resolve("tus+http://127.0.0.1:8080/files/");
        var child = endpoint.Child("big.iso");
        var again = resolver.Resolve(child.Key);

        Assert.IsType<TusStorage>(endpoint.Storage);
        Assert.Equal("", endpoint.Path);
        Assert.True(endpoint.IsFolderHint);
        Assert.Equal("tus+http://127.0.0.1:8080/files/big.iso", child.Key);
        Assert.Same(endpoint.Storage, again.Storage);
        Assert.Equal("big.iso", again.Path);
        Assert.False(again.IsFolderHint);
    }

    [Theory]
    [InlineData("tus+https://user:secret@tus.example.org/files/")]
    [InlineData("tus+https://tus.example.org/files/?token=secret")]
    public void Resolve_TusUrlWithACredential_IsAUsageErrorThatShowsNone(string text)
    {
        var e = Assert.Throws<LoadPipeException>(() => new LocationResolver([new TusStorageFactory()]).Resolve(text));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Fact]
    public void Redact_TusUrl_DropsUserInfoAndQuery() =>
        Assert.Equal("tus+https://tus.example.org/files/x", Location.Redact("tus+https://u:secret@tus.example.org/files/x?token=secret"));

    [Fact]
    public void Metadata_FileInAFolder_IsFilenameFiletypeAndRelativePathInBase64() =>
        Assert.Equal("filename Yi5iaW4=,filetype YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFt,relativePath YS9iLmJpbg==,empty",
            TusMetadata.For("a/b.bin", null, new Dictionary<string, string> { ["empty"] = "" }));

    [SkippableFact]
    public async Task CommitAsync_DeferredLength_TheFinalPatchDeclaresIt()
    {
        Skip.If(TusReferenceServer.Unavailable is not null, TusReferenceServer.Unavailable);
        var content = new byte[200_000];
        new Random(3).NextBytes(content);
        var path = $"{_folder}/deferred.bin";

        await using (var session = await TusReferenceServer.Storage().BeginWriteAsync(path, new WriteRequest()))
        {
            await session.WriteAsync(content.AsMemory(0, 65536));
            await session.WriteFinalAsync(content.AsMemory(65536));
            Assert.Equal(content.Length, (await session.CommitAsync()).Size);
        }

        var id = Assert.Single(TusReferenceServer.UploadsOf(path));
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(TusReferenceServer.Content(id)));
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task CommitAsync_EmptyObject_IsAFinishedEmptyUpload(long expectedSize)
    {
        Skip.If(TusReferenceServer.Unavailable is not null, TusReferenceServer.Unavailable);
        var path = $"{_folder}/empty{expectedSize}.bin";

        await using (var session = await TusReferenceServer.Storage().BeginWriteAsync(path, new WriteRequest { ExpectedSize = expectedSize }))
            Assert.Equal(0, (await session.CommitAsync()).Size);

        var id = Assert.Single(TusReferenceServer.UploadsOf(path));
        Assert.Empty(TusReferenceServer.Content(id));
    }
}
