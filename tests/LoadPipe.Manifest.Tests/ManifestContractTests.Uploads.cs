using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;

namespace LoadPipe.Manifest.Tests;

/// <summary>The <see cref="IUploadStore"/> part of the contract: uploads beside their transfers, their tails, fenced records.</summary>
public abstract partial class ManifestContractTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static NewUploadRecord NewUpload(string id, string destination = "file://h/dst/u.bin", long? length = 100, DateTimeOffset? expires = null) =>
        new(id, destination, "", length, new Dictionary<string, string> { ["filename"] = "u.bin", ["note"] = "é ✓ \"q\"" }, Created, expires);

    private static async Task<(IManifest Manifest, IUploadStore Store, long Session)> OpenUploadsAsync(ManifestContractTests test)
    {
        var manifest = await test.OpenAsync();
        test._opened.Add(manifest);
        return (manifest, Assert.IsAssignableFrom<IUploadStore>(manifest), await manifest.BeginSessionAsync(new SessionStart("upload", "push", "/dst")));
    }

    private static Task<UploadRecord> CreateAsync(IUploadStore store, long session, NewUploadRecord upload) =>
        store.CreateUploadAsync(upload, UploadRows.KeyOf(upload.Id, upload.Destination, upload.Pipeline), session);

    [Fact]
    public async Task CreateUpload_ThenGet_SurvivesReopenWithItsTransfer()
    {
        var (_, store, session) = await OpenUploadsAsync(this);
        var created = await CreateAsync(store, session, NewUpload("u1", expires: Created.AddHours(1)));
        await CloseStatesAsync();

        var (manifest, reopened, _) = await OpenUploadsAsync(this);
        var upload = await reopened.GetUploadAsync("u1");
        var transfer = await manifest.FindTransferAsync(UploadRows.KeyOf("u1", "file://h/dst/u.bin", ""));

        Assert.NotNull(upload);
        Assert.Equal(("u1", "file://h/dst/u.bin", (long?)100, 0L, UploadStatus.Open, Created, (DateTimeOffset?)Created.AddHours(1)),
            (upload.Id, upload.Destination, upload.Length, upload.Offset, upload.Status, upload.Created, upload.Expires));
        Assert.Equal(new Dictionary<string, string> { ["filename"] = "u.bin", ["note"] = "é ✓ \"q\"" }, upload.Metadata);
        Assert.Equal((created.TransferId, 1L, 0L, 0, 0L), (upload.TransferId, upload.Epoch, upload.BytesConfirmed, upload.NextChunk, upload.TailLength));
        Assert.Equal((TransferStatus.InProgress, upload.TransferId), (transfer!.Status, transfer.Id));
        Assert.Null(await reopened.GetUploadAsync("u2"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task CreateUpload_SameIdOrAnOpenUploadToTheDestination_IsRefused()
    {
        var (_, store, session) = await OpenUploadsAsync(this);
        await CreateAsync(store, session, NewUpload("u1"));

        var sameId = await Assert.ThrowsAsync<UploadConflictException>(() => CreateAsync(store, session, NewUpload("u1", "file://h/dst/other.bin")));
        var sameDestination = await Assert.ThrowsAnyAsync<LoadPipeException>(() => CreateAsync(store, session, NewUpload("u2")));

        Assert.Equal(0, sameId.Offset);
        Assert.Equal(ErrorKind.Busy, sameDestination.Kind);
        Assert.Null(await store.GetUploadAsync("u2"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task RecordAppend_ChunksTakeTheTail_OffsetTailAndChunksMoveTogether()
    {
        var (manifest, store, session) = await OpenUploadsAsync(this);
        var upload = await CreateAsync(store, session, NewUpload("u1"));

        await store.RecordAppendAsync(upload.Lease, "u1", new UploadAppendRecord(3, [], null, false, new UploadTailSegment(0, [1, 2, 3])));
        await store.RecordAppendAsync(upload.Lease, "u1", new UploadAppendRecord(5, [], null, false, new UploadTailSegment(3, [4, 5])));
        var tailOnly = await store.GetUploadAsync("u1");
        var segments = await store.GetUploadTailAsync("u1");
        await store.RecordAppendAsync(upload.Lease, "u1",
            new UploadAppendRecord(12, [new ChunkRecord(0, 0, 10, null, "aa")], "state-1", true, new UploadTailSegment(10, [11, 12])));
        var after = await store.GetUploadAsync("u1");

        Assert.Equal((5L, 0L, 5L), (tailOnly!.Offset, tailOnly.BytesConfirmed, tailOnly.TailLength));
        Assert.Equal([(0L, new byte[] { 1, 2, 3 }), (3L, new byte[] { 4, 5 })], segments.Select(s => (s.Start, s.Bytes)));
        Assert.Equal((12L, 10L, 2L, 1, "state-1"), (after!.Offset, after.BytesConfirmed, after.TailLength, after.NextChunk, after.SinkState));
        Assert.Equal([(10L, new byte[] { 11, 12 })], (await store.GetUploadTailAsync("u1")).Select(s => (s.Start, s.Bytes)));
        Assert.Equal([new ChunkRecord(0, 0, 10, null, "aa")], await manifest.GetChunksAsync(upload.TransferId));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task RecordAppend_TransferTakenOverSince_IsFencedAndChangesNothing()
    {
        var (manifest, store, session) = await OpenUploadsAsync(this);
        var upload = await CreateAsync(store, session, NewUpload("u1"));
        await store.RecordAppendAsync(upload.Lease, "u1", new UploadAppendRecord(2, [], null, false, new UploadTailSegment(0, [1, 2])));
        var taken = await manifest.AttachTransferAsync(upload.TransferId, session);

        await Assert.ThrowsAsync<TransferFencedException>(() => store.RecordAppendAsync(upload.Lease, "u1",
            new UploadAppendRecord(10, [new ChunkRecord(0, 0, 10, null, "aa")], "s", true, null)));
        await Assert.ThrowsAsync<TransferFencedException>(() => store.CompleteUploadAsync(upload.Lease, "u1", new TransferCompletion(2, "m", "s")));

        var after = await store.GetUploadAsync("u1");
        Assert.Equal((2L, 0L, 2L, UploadStatus.Open, taken.Epoch), (after!.Offset, after.BytesConfirmed, after.TailLength, after.Status, after.Epoch));
        Assert.Empty(await manifest.GetChunksAsync(upload.TransferId));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task CompleteUpload_RecordsHashesAndDropsTheTail()
    {
        var (manifest, store, session) = await OpenUploadsAsync(this);
        var upload = await CreateAsync(store, session, NewUpload("u1", length: 12));
        await store.RecordAppendAsync(upload.Lease, "u1",
            new UploadAppendRecord(12, [new ChunkRecord(0, 0, 10, null, "aa")], "s", false, new UploadTailSegment(10, [1, 2])));

        await store.CompleteUploadAsync(upload.Lease, "u1", new TransferCompletion(12, "md5hex", "shahex"));

        var done = await store.GetUploadAsync("u1");
        var transfer = await manifest.FindTransferAsync(done!.Key);
        Assert.Equal((UploadStatus.Completed, 12L, "shahex", "md5hex", 0L), (done.Status, done.Offset, done.Sha256, done.Md5, done.TailLength));
        Assert.Equal((TransferStatus.Completed, 12L, "shahex", "md5hex"), (transfer!.Status, transfer.OutputSize, transfer.Sha256, transfer.Md5));
        Assert.Empty(await store.GetUploadTailAsync("u1"));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task DeclareUploadLength_OnlyWhenDeferredAndNotBelowTheOffset()
    {
        var (_, store, session) = await OpenUploadsAsync(this);
        var upload = await CreateAsync(store, session, NewUpload("u1", length: null));
        await store.RecordAppendAsync(upload.Lease, "u1", new UploadAppendRecord(5, [], null, false, new UploadTailSegment(0, new byte[5])));

        var below = await store.DeclareUploadLengthAsync("u1", 4);
        var declared = await store.DeclareUploadLengthAsync("u1", 9);
        var again = await store.DeclareUploadLengthAsync("u1", 20);

        Assert.Null(below!.Length);
        Assert.Equal((long?)9, declared!.Length);
        Assert.Equal((long?)9, again!.Length);
        Assert.Null(await store.DeclareUploadLengthAsync("nope", 1));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task DeleteUpload_DropsItAndItsTail_KeepsTheTransfer()
    {
        var (manifest, store, session) = await OpenUploadsAsync(this);
        var upload = await CreateAsync(store, session, NewUpload("u1"));
        await store.RecordAppendAsync(upload.Lease, "u1", new UploadAppendRecord(2, [], null, false, new UploadTailSegment(0, [1, 2])));

        var deleted = await store.DeleteUploadAsync("u1");
        var again = await store.DeleteUploadAsync("u1");
        // The destination is free again, and the id may be given anew (its transfer is reset).
        var recreated = await CreateAsync(store, session, NewUpload("u1"));

        Assert.Equal((true, false), (deleted, again));
        Assert.Equal((upload.TransferId, 2L, 0L), (recreated.TransferId, recreated.Epoch, recreated.TailLength));
        Assert.NotNull(await manifest.FindTransferAsync(upload.Key));
        await CloseStatesAsync();
    }

    [Fact]
    public async Task ListExpiredUploads_OpenOnesPastTheirExpiry_OldestFirst()
    {
        var (_, store, session) = await OpenUploadsAsync(this);
        await CreateAsync(store, session, NewUpload("late", "file://h/a", expires: Created.AddMinutes(-1)));
        await CreateAsync(store, session, NewUpload("early", "file://h/b", expires: Created.AddMinutes(-5)));
        await CreateAsync(store, session, NewUpload("future", "file://h/c", expires: Created.AddMinutes(5)));
        await CreateAsync(store, session, NewUpload("never", "file://h/d"));
        var done = await CreateAsync(store, session, NewUpload("done", "file://h/e", length: 0, expires: Created.AddMinutes(-9)));
        await store.CompleteUploadAsync(done.Lease, "done", new TransferCompletion(0, "m", "s"));

        var expired = await store.ListExpiredUploadsAsync(Created, 10).Select(u => u.Id).ToListAsync();
        var first = await store.ListExpiredUploadsAsync(Created, 1).Select(u => u.Id).ToListAsync();

        Assert.Equal(["early", "late"], expired);
        Assert.Equal(["early"], first);
        await CloseStatesAsync();
    }
}
