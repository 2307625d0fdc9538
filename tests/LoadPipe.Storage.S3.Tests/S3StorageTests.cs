using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Storage.S3.Tests.Support;
using static LoadPipe.Storage.S3.Tests.Support.TestData;

namespace LoadPipe.Storage.S3.Tests;

/// <summary>The IStorage primitives of <see cref="S3Storage"/> against the S3 server.</summary>
public sealed class S3StorageTests
{
    private readonly string _prefix = S3Server.NewPrefix("storage");

    private string Path(string name) => $"{S3Server.Bucket}/{_prefix}/{name}";

    [Fact]
    public async Task ListAsync_MoreKeysThanOnePage_ListsEveryKeyAcrossPages()
    {
        string[] names = ["a1", "a2", "a3", "d1/b1", "d1/b2", "d1/e/c1", "d2/b3", "z1", "z2", "z3", "z4"];
        foreach (var name in names) await S3Server.PutAsync($"{_prefix}/list/{name}", [1, 2, 3]);
        var storage = S3Server.Storage(S3Server.Definition(listChunk: 3)); // 11 keys: four pages

        var all = await storage.ListAsync(Path("list"), recursive: true).ToListAsync();
        var top = await storage.ListAsync(Path("list/"), recursive: false).ToListAsync();

        Assert.Equal(names, all.Select(o => o.Path).Order(StringComparer.Ordinal));
        Assert.All(all, o => Assert.Equal(3, o.Size));
        Assert.Equal(["a1", "a2", "a3", "z1", "z2", "z3", "z4"], top.Where(o => !o.IsDirectory).Select(o => o.Path).Order(StringComparer.Ordinal));
        Assert.Equal(["d1", "d2"], top.Where(o => o.IsDirectory).Select(o => o.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ListAsync_PrefixWithNothingUnderIt_ThrowsNotFound()
    {
        var storage = S3Server.Storage();

        var e = await Assert.ThrowsAsync<LoadPipeException>(async () => await storage.ListAsync(Path("nothing/"), recursive: true).ToListAsync());

        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task StatAsync_ObjectBucketPrefixAndNothing_DescribedAsS3SeesThem()
    {
        var content = Random(1234);
        await S3Server.PutAsync($"{_prefix}/dir/file.bin", content);
        var storage = S3Server.Storage();

        var file = await storage.StatAsync(Path("dir/file.bin"));
        var bucket = await storage.StatAsync(S3Server.Bucket);
        var folder = await storage.StatAsync(Path("dir"));
        var folderWithSlash = await storage.StatAsync(Path("dir/"));
        var nothing = await storage.StatAsync(Path("dir/missing.bin"));

        Assert.NotNull(file);
        Assert.False(file.IsDirectory);
        Assert.Equal(content.Length, file.Size);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content)), file.Hashes["md5"]);
        Assert.StartsWith("\"", file.Version);
        Assert.NotNull(file.Modified);
        Assert.True(bucket!.IsDirectory);
        Assert.True(folder!.IsDirectory);
        Assert.True(folderWithSlash!.IsDirectory);
        Assert.Null(nothing);
    }

    [Fact]
    public async Task RemoveAsync_ObjectThenAgain_TrueThenFalseAndOnlyThatKeyGoes()
    {
        await S3Server.PutAsync($"{_prefix}/rm/gone.bin", [1, 2, 3]);
        await S3Server.PutAsync($"{_prefix}/rm/stays.bin", [4]);
        var storage = S3Server.Storage();

        Assert.True(await storage.RemoveAsync(Path("rm/gone.bin")));
        Assert.False(await storage.RemoveAsync(Path("rm/gone.bin")));

        Assert.Null(await storage.StatAsync(Path("rm/gone.bin")));
        Assert.NotNull(await storage.StatAsync(Path("rm/stays.bin")));
    }

    [Fact]
    public async Task OpenReadAsync_FromAnOffset_ReadsTheRestOnly()
    {
        var content = Random(100_000, seed: 2);
        await S3Server.PutAsync($"{_prefix}/ranged.bin", content);
        var storage = S3Server.Storage();
        var version = (await storage.StatAsync(Path("ranged.bin")))!.Version;

        var rest = await ReadAllAsync(await storage.OpenReadAsync(Path("ranged.bin"), new ReadOptions(60_000, version)));
        var atEnd = await ReadAllAsync(await storage.OpenReadAsync(Path("ranged.bin"), new ReadOptions(content.Length, version)));

        Assert.Equal(content[60_000..], rest);
        Assert.Empty(atEnd);
    }

    [Fact]
    public async Task OpenReadAsync_VersionNoLongerThere_ThrowsSourceChanged()
    {
        await S3Server.PutAsync($"{_prefix}/changing.bin", Random(1000, seed: 3));
        var storage = S3Server.Storage();
        var before = (await storage.StatAsync(Path("changing.bin")))!.Version;
        await S3Server.PutAsync($"{_prefix}/changing.bin", Random(1000, seed: 4));

        await Assert.ThrowsAsync<SourceChangedException>(() => storage.OpenReadAsync(Path("changing.bin"), new ReadOptions(10, before)));
    }

    [Fact]
    public async Task ResumeWriteAsync_StateOfAnotherKeyOrGarbage_ReturnsNull()
    {
        var storage = S3Server.Storage();
        var session = await storage.BeginWriteAsync(Path("state.bin"), new WriteRequest { ExpectedSize = 12 * MiB });
        await session.WriteAsync(Random(6 * MiB));
        var state = session.ResumeState!;

        var otherKey = await storage.ResumeWriteAsync(Path("other.bin"), state, 6 * MiB, new WriteRequest());
        var garbage = await storage.ResumeWriteAsync(Path("state.bin"), "{not json", 6 * MiB, new WriteRequest());
        var midPart = await storage.ResumeWriteAsync(Path("state.bin"), state, 3 * MiB, new WriteRequest());
        var same = await storage.ResumeWriteAsync(Path("state.bin"), state, 6 * MiB, new WriteRequest());

        Assert.Null(otherKey);
        Assert.Null(garbage);
        Assert.Null(midPart);
        Assert.NotNull(same);
        Assert.Equal(6 * MiB, same.Length);
        await same.AbortAsync();
        Assert.Null(await storage.ResumeWriteAsync(Path("state.bin"), state, 6 * MiB, new WriteRequest())); // aborted: gone
    }

    [Fact]
    public async Task AbortAsync_ServerWithoutAbort_WarnsAndCarriesOn()
    {
        var bucket = "plain-" + Guid.NewGuid().ToString("N")[..12]; // s3rver's own 405 for AbortMultipartUpload
        await S3Server.Client().PutBucketAsync(bucket);
        using var log = new LogCapture();
        var storage = S3Server.Storage(loggers: log.Factory);
        var session = await storage.BeginWriteAsync($"{bucket}/{_prefix}/abandoned.bin", new WriteRequest { ExpectedSize = 12 * MiB });
        await session.WriteAsync(Random(6 * MiB));

        await session.AbortAsync();

        Assert.Contains("cannot abort upload", Assert.Single(log.Messages(303)));
        Assert.Equal(0, session.Length);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }
}
