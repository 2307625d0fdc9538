using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Tus.Tests.Support;

/// <summary>What the tests against <see cref="ChecksumTusServer"/> share: a storage on it, an upload in chunks, and
/// content to send.</summary>
internal static class TusUploads
{
    /// <summary>The size of each write of <see cref="UploadAsync"/>.</summary>
    public const int Chunk = 64 << 10;

    public static TusStorage StorageOn(ChecksumTusServer server, string name = "tus-test") =>
        new TusStorageFactory().Create(new TusStorageOptions { Name = name, Endpoint = server.Endpoint });

    /// <summary>Writes <paramref name="content"/> to folder/file.bin in <see cref="Chunk"/>-sized writes, the last one
    /// final, and checks the committed size.</summary>
    public static async Task UploadAsync(TusStorage storage, byte[] content)
    {
        await using var session = await storage.BeginWriteAsync("folder/file.bin", new WriteRequest { ExpectedSize = content.Length });
        var at = 0;
        for (; content.Length - at > Chunk; at += Chunk) await session.WriteAsync(content.AsMemory(at, Chunk));
        await session.WriteFinalAsync(content.AsMemory(at));
        Assert.Equal(content.Length, (await session.CommitAsync()).Size);
    }

    public static Task UploadAsync(ChecksumTusServer server, byte[] content) => UploadAsync(StorageOn(server), content);

    public static byte[] Random(int size, int seed = 5)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
