using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Conformance;

/// <summary>
/// The storage contract (<see cref="IStorage"/> and its capability interfaces), as rclone's fstests are for its
/// backends: every adapter runs every case through a subclass that makes its store (<see cref="CreateStorage"/>),
/// lists the capabilities it offers (<see cref="Features"/>) and what of the contract it cannot do
/// (<see cref="Gaps"/>). A case that needs what a store lacks is skipped, saying so. xunit makes a new instance per
/// test, so each test has its own <see cref="Folder"/>. Bytes are compared by SHA-256.
/// </summary>
public abstract class StorageContractTests : IAsyncLifetime
{
    private const int Tail = 1234;

    /// <summary>The store under test, as a new process would make it (nothing cached): each call a new object.</summary>
    protected abstract IStorage CreateStorage();

    /// <summary>The optional capabilities the adapter offers; <see cref="StorageFeatures.Of"/> must say the same.</summary>
    protected abstract StorageFeatures Features { get; }

    /// <summary>What of the required contract the store cannot do; the subclass says why. Default none.</summary>
    protected virtual ContractGaps Gaps => ContractGaps.None;

    /// <summary>This test's folder, which nothing else uses; "" for the store's root.</summary>
    protected abstract string Folder { get; }

    /// <summary>Puts (or replaces) an object behind the adapter's back, creating the folders on its way: the read cases' data.</summary>
    protected abstract Task PutAsync(string path, byte[] content);

    /// <summary>Entries per listing page the subclass set the store to (small, so that a listing spans pages); null
    /// when the store does not page.</summary>
    protected virtual int? ListPageSize => null;

    /// <summary>Every write but the last: a multiple of the store's alignment and at least its minimum write. Default 64 KiB.</summary>
    protected virtual int WriteSize => 64 << 10;

    /// <summary>The path of <paramref name="name"/> ("a/b.bin") in this test's <see cref="Folder"/>.</summary>
    protected virtual string At(string name) => Folder.Length == 0 ? name : $"{Folder}/{name}";

    /// <summary>The bytes a write committed. Default: read through the store; a write-only store reads them from its server.</summary>
    protected virtual async Task<byte[]> ReadCommittedAsync(IStorage storage, string path, ObjectInfo committed)
    {
        await using var stream = await storage.OpenReadAsync(path, ReadOptions.FromStart);
        return await ReadAllAsync(stream);
    }

    /// <summary>Checks the store holds nothing of a write that was aborted (a partial file, an unfinished upload),
    /// beyond what the adapter shows. Default: no further check.</summary>
    protected virtual Task AssertNoLeftoversAsync(string path) => Task.CompletedTask;

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public void Features_AreTheOnesTheAdapterLists() => Assert.Equal(Features, StorageFeatures.Of(CreateStorage()));

    [SkippableFact]
    public async Task ListAsync_RecursiveOverSeveralPages_YieldsEveryFileOnce()
    {
        Require(!Gaps.HasFlag(ContractGaps.Listing), "listing folders");
        // More than two pages where the store pages, and a file one folder down.
        var count = 2 * (ListPageSize ?? 2) + 1;
        var files = Enumerable.Range(0, count).ToDictionary(i => $"f{i:D2}.bin", i => Random(100 + i, seed: i));
        files["sub/deep.bin"] = Random(300, seed: 99);
        foreach (var (name, content) in files) await PutAsync(At("list/" + name), content);

        var listed = await ListAllAsync(CreateStorage(), At("list"), recursive: true);

        var listedFiles = listed.Where(e => !e.IsDirectory).ToList();
        Assert.Equal(files.Keys.Order(StringComparer.Ordinal), listedFiles.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.All(listedFiles, e => Assert.Equal(files[e.Path].Length, e.Size));
    }

    [SkippableFact]
    public async Task ListAsync_SortedListing_YieldsFilesInPathOrder()
    {
        Require(Features.SortedListing, "a sorted listing");
        // Byte order of UTF-8, as S3 sorts keys: '-' < '/' < '0', and upper case before lower case.
        string[] names = ["b.bin", "z/y.bin", "a0.bin", "a/b.bin", "B.bin", "a-b.bin"];
        foreach (var name in names) await PutAsync(At("sorted/" + name), Random(10, seed: name.Length));

        var listed = await ListAllAsync(CreateStorage(), At("sorted"), recursive: true);

        Assert.Equal(names.Order(PathOrder.Instance), listed.Where(e => !e.IsDirectory).Select(e => e.Path));
    }

    [SkippableFact]
    public async Task ListAsync_NotRecursive_YieldsTheSubfolderButNotItsContent()
    {
        Require(!Gaps.HasFlag(ContractGaps.Listing), "listing folders");
        Require(!Gaps.HasFlag(ContractGaps.Folders), "folders");
        await PutAsync(At("flat/top.bin"), Random(10));
        await PutAsync(At("flat/sub/inner.bin"), Random(20));

        var listed = await ListAllAsync(CreateStorage(), At("flat"), recursive: false);

        Assert.Equal(["sub", "top.bin"], listed.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.True(listed.Single(e => e.Path == "sub").IsDirectory);
    }

    [SkippableFact]
    public async Task ListAsync_MissingFolder_ThrowsNotFound()
    {
        Require(!Gaps.HasFlag(ContractGaps.Listing), "listing folders");

        var e = await Assert.ThrowsAnyAsync<LoadPipeException>(() => ListAllAsync(CreateStorage(), At("missing"), recursive: true));

        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [SkippableFact]
    public async Task StatAsync_File_GivesItsSize()
    {
        Require(!Gaps.HasFlag(ContractGaps.Reading), "reading");
        await PutAsync(At("stat/file.bin"), Random(1234));

        var info = await CreateStorage().StatAsync(At("stat/file.bin"));

        Assert.NotNull(info);
        Assert.False(info.IsDirectory);
        Assert.Equal(1234, info.Size);
    }

    [SkippableFact]
    public async Task StatAsync_Folder_IsADirectory()
    {
        Require(!Gaps.HasFlag(ContractGaps.Folders), "folders");
        await PutAsync(At("stat/inner/file.bin"), Random(10));

        var info = await CreateStorage().StatAsync(At("stat/inner"));

        Assert.NotNull(info);
        Assert.True(info.IsDirectory);
    }

    [Fact]
    public async Task StatAsync_Missing_IsNull() => Assert.Null(await CreateStorage().StatAsync(At("missing.bin")));

    [SkippableFact]
    public async Task OpenReadAsync_FromTheStart_GivesEveryByte()
    {
        Require(!Gaps.HasFlag(ContractGaps.Reading), "reading");
        var content = Random(300_000);
        await PutAsync(At("whole.bin"), content);

        await using var stream = await CreateStorage().OpenReadAsync(At("whole.bin"), ReadOptions.FromStart);

        Assert.Equal(Sha256(content), Sha256(await ReadAllAsync(stream)));
    }

    [SkippableFact]
    public async Task OpenReadAsync_OffsetInTheMiddle_GivesTheRest()
    {
        Require(Features.RangedRead, "ranged reads");
        var content = Random(300_000, seed: 2);
        await PutAsync(At("ranged.bin"), content);

        await using var stream = await CreateStorage().OpenReadAsync(At("ranged.bin"), new ReadOptions(Offset: 123_457));

        Assert.Equal(Sha256(content[123_457..]), Sha256(await ReadAllAsync(stream)));
    }

    [SkippableFact]
    public async Task OpenReadAsync_OffsetAtTheEnd_GivesNothing()
    {
        Require(Features.RangedRead, "ranged reads");
        var content = Random(5000, seed: 3);
        await PutAsync(At("end.bin"), content);
        var storage = CreateStorage();
        var version = (await storage.StatAsync(At("end.bin")))?.Version;

        await using var stream = await storage.OpenReadAsync(At("end.bin"), new ReadOptions(Offset: content.Length, IfVersion: version));

        Assert.Empty(await ReadAllAsync(stream));
    }

    [SkippableFact]
    public async Task OpenReadAsync_ObjectChangedSinceItsVersion_ThrowsSourceChanged()
    {
        Require(!Gaps.HasFlag(ContractGaps.Reading), "reading");
        await PutAsync(At("changing.bin"), Random(200_000, seed: 4));
        var storage = CreateStorage();
        var before = await storage.StatAsync(At("changing.bin"));
        Assert.NotNull(before?.Version);
        await PutAsync(At("changing.bin"), Random(200_001, seed: 5));

        await Assert.ThrowsAsync<SourceChangedException>(() => ReadAsync(storage, At("changing.bin"), new ReadOptions(IfVersion: before.Version)));
        // A resumed read too: never the new content's tail after the old content's head.
        if (Features.RangedRead)
            await Assert.ThrowsAsync<SourceChangedException>(() => ReadAsync(storage, At("changing.bin"), new ReadOptions(100_000, before.Version)));
    }

    [SkippableFact]
    public async Task WriteAsync_BeforeTheCommit_NothingUnderTheFinalName_ThenTheCommitHoldsEveryByte()
    {
        Require(Features.Write, "writes");
        var content = Random(3 * WriteSize + Tail, seed: 6);
        var storage = CreateStorage();
        var path = At("written/new.bin");

        ObjectInfo committed;
        await using (var session = await Writer(storage).BeginWriteAsync(path, Request(content)))
        {
            for (var i = 0; i < 3; i++) await session.WriteAsync(Chunk(content, i));
            Assert.Equal(3L * WriteSize, session.Length);
            await AssertAbsentAsync(storage, path);
            await session.WriteFinalAsync(content.AsMemory(3 * WriteSize));
            committed = await session.CommitAsync();
        }

        await AssertHoldsAsync(path, committed, content);
    }

    [SkippableFact]
    public async Task AbortAsync_AfterWrites_LeavesNothing()
    {
        Require(Features.Write, "writes");
        var content = Random(3 * WriteSize + Tail, seed: 7);
        var storage = CreateStorage();
        var path = At("aborted/gone.bin");

        await using (var session = await Writer(storage).BeginWriteAsync(path, Request(content)))
        {
            await session.WriteAsync(Chunk(content, 0));
            await session.WriteAsync(Chunk(content, 1));
            await session.AbortAsync();
        }

        await AssertAbsentAsync(CreateStorage(), path);
        await AssertNoLeftoversAsync(path);
    }

    [SkippableFact]
    public async Task ResumeWriteAsync_ShorterThanWritten_KeepsOnlyTheConfirmedPrefix()
    {
        Require(Features.ResumableWrite, "resumable writes");
        var first = Random(3 * WriteSize + Tail, seed: 8);
        // Where the store can drop the bytes it holds past the confirmed length, other and fewer bytes follow the
        // confirmed prefix (so the two writes announce no size); elsewhere the same bytes again, as the engine sends.
        var dropping = !Gaps.HasFlag(ContractGaps.DroppingUnconfirmedBytes);
        var then = dropping ? Random(2 * WriteSize + Tail, seed: 9) : first;
        var request = dropping ? new WriteRequest() : Request(first);
        var storage = CreateStorage();
        var path = At("resumed/shorter.bin");

        var session = await Writer(storage).BeginWriteAsync(path, request);
        string state;
        // The first session is closed before the resume, as the engine closes it: a store may let only one session
        // write an object at a time (the local disk locks its partial file).
        await using (session)
        {
            for (var i = 0; i < 3; i++) await session.WriteAsync(Chunk(first, i));
            state = Assert.IsType<string>(session.ResumeState);
        }
        var shorter = await ((IResumableWriter)storage).ResumeWriteAsync(path, state, WriteSize, request);

        Assert.NotNull(shorter);
        ObjectInfo committed;
        await using (shorter)
        {
            Assert.Equal(WriteSize, shorter.Length);
            committed = await FinishAsync(shorter, then, WriteSize);
        }

        await AssertHoldsAsync(path, committed, [.. first[..WriteSize], .. then[WriteSize..]]);
    }

    [SkippableFact]
    public async Task ResumeWriteAsync_CrashAfterAWriteWasSentButNotConfirmed_FinishesExactlyRight()
    {
        Require(Features.ResumableWrite, "resumable writes");
        var content = Random(3 * WriteSize + Tail, seed: 10);
        var path = At("resumed/crashed.bin");
        var before = CreateStorage();

        string state;
        await using (var session = await Writer(before).BeginWriteAsync(path, Request(content)))
        {
            await session.WriteAsync(Chunk(content, 0));
            state = Assert.IsType<string>(session.ResumeState); // what the manifest keeps with the confirmed chunk
            await session.WriteAsync(Chunk(content, 1)); // sent; the process dies before confirming it
        }
        await AssertAbsentAsync(before, path);

        var after = CreateStorage(); // a new process
        var resumed = await ((IResumableWriter)after).ResumeWriteAsync(path, state, WriteSize, Request(content));

        Assert.NotNull(resumed);
        ObjectInfo committed;
        await using (resumed)
        {
            Assert.Equal(WriteSize, resumed.Length);
            committed = await FinishAsync(resumed, content, WriteSize);
        }

        await AssertHoldsAsync(path, committed, content);
    }

    [SkippableFact]
    public async Task WriteChunkAsync_ChunksOutOfOrderAndAtOnce_CommitsThemInOrder()
    {
        Require(Features.Write, "writes");
        var content = Random(3 * WriteSize + Tail, seed: 11);
        var storage = CreateStorage();
        var path = At("concurrent/parts.bin");

        ObjectInfo committed;
        await using (var session = await Writer(storage).BeginWriteAsync(path, Request(content)))
        {
            if (session is not IConcurrentWriteSession { MaxWritesInFlight: > 1 } parallel)
            {
                await session.AbortAsync();
                Require(false, "concurrent writes");
                return;
            }
            await Task.WhenAll(
                parallel.WriteChunkAsync(2, 2L * WriteSize, Chunk(content, 2)),
                parallel.WriteChunkAsync(0, 0, Chunk(content, 0)));
            await Task.WhenAll(
                parallel.WriteChunkAsync(3, 3L * WriteSize, content.AsMemory(3 * WriteSize)),
                parallel.WriteChunkAsync(1, WriteSize, Chunk(content, 1)));
            Assert.Equal(content.Length, parallel.Length);
            committed = await parallel.CommitAsync();
        }

        await AssertHoldsAsync(path, committed, content);
    }

    [SkippableFact]
    public async Task CopyFromAsync_WithinTheStore_CopiesEveryByte()
    {
        Require(Features.ServerSideCopy, "server-side copy");
        var content = Random(200_000, seed: 12);
        await PutAsync(At("copy/from.bin"), content);
        var storage = CreateStorage();

        var copied = await ((IServerSideCopier)storage).CopyFromAsync(storage, At("copy/from.bin"), At("copy/to.bin"));

        Assert.Equal(content.Length, copied.Size);
        Assert.Equal(Sha256(content), Sha256(await ReadAsync(CreateStorage(), At("copy/to.bin"), ReadOptions.FromStart)));
    }

    [SkippableFact]
    public async Task CopyFromAsync_FromAnotherKindOfStore_ThrowsCantCopy()
    {
        Require(Features.ServerSideCopy, "server-side copy");

        await Assert.ThrowsAsync<CantCopyException>(() => ((IServerSideCopier)CreateStorage()).CopyFromAsync(new Elsewhere(), "a.bin", At("copy/a.bin")));
    }

    /// <summary>Why the store's server cannot be reached in this run (its test variable is unset), or null: the cases
    /// that need the server are then skipped with that reason. Default null.</summary>
    protected virtual string? Unavailable => null;

    private void Require(bool present, string what)
    {
        Skip.If(Unavailable is not null, $"{GetType().Name}: {Unavailable}");
        Skip.IfNot(present, $"{GetType().Name}: the store offers no {what}");
    }

    private static IWritableStorage Writer(IStorage storage) => (IWritableStorage)storage;

    private static WriteRequest Request(byte[] content) => new() { ExpectedSize = content.Length };

    private ReadOnlyMemory<byte> Chunk(byte[] content, int index) => content.AsMemory(index * WriteSize, WriteSize);

    /// <summary>Writes <paramref name="content"/> from <paramref name="from"/> on as the engine does (whole writes, then
    /// the rest as the final one), and commits.</summary>
    private async Task<ObjectInfo> FinishAsync(IWriteSession session, byte[] content, int from)
    {
        var at = from;
        for (; content.Length - at > WriteSize; at += WriteSize) await session.WriteAsync(content.AsMemory(at, WriteSize));
        await session.WriteFinalAsync(content.AsMemory(at));
        return await session.CommitAsync();
    }

    /// <summary>Nothing under <paramref name="path"/>: not to stat, not in its folder's listing.</summary>
    private async Task AssertAbsentAsync(IStorage storage, string path)
    {
        Assert.Null(await storage.StatAsync(path));
        if (Gaps.HasFlag(ContractGaps.Listing)) return;
        try
        {
            var listed = await ListAllAsync(storage, Folder, recursive: true);
            Assert.DoesNotContain(listed, e => !e.IsDirectory && At(e.Path) == path);
        }
        catch (LoadPipeException e) when (e.Kind == ErrorKind.NotFound)
        {
            // A store without real folders (S3) has no folder before its first object.
        }
    }

    /// <summary>The committed object is <paramref name="expected"/>, byte for byte, and says so.</summary>
    private async Task AssertHoldsAsync(string path, ObjectInfo committed, byte[] expected)
    {
        if (committed.Size >= 0) Assert.Equal(expected.Length, committed.Size);
        var storage = CreateStorage();
        if (!Gaps.HasFlag(ContractGaps.Reading)) Assert.Equal(expected.Length, (await storage.StatAsync(path))?.Size);
        Assert.Equal(Sha256(expected), Sha256(await ReadCommittedAsync(storage, path, committed)));
    }

    private static async Task<List<ObjectInfo>> ListAllAsync(IStorage storage, string path, bool recursive)
    {
        var listed = new List<ObjectInfo>();
        await foreach (var entry in storage.ListAsync(path, recursive)) listed.Add(entry);
        return listed;
    }

    private static async Task<byte[]> ReadAsync(IStorage storage, string path, ReadOptions options)
    {
        await using var stream = await storage.OpenReadAsync(path, options);
        return await ReadAllAsync(stream);
    }

    protected static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    protected static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    protected static byte[] Random(int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A store of another kind, that a server-side copy must refuse as a source.</summary>
    private sealed class Elsewhere : IStorage
    {
        public string Description => "elsewhere";

        public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) =>
            Task.FromResult<ObjectInfo?>(new ObjectInfo { Path = path, Size = 1 });

        public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
            Task.FromResult<Stream>(new MemoryStream([1]));
    }
}
