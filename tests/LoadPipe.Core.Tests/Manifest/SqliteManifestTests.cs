using LoadPipe.Core.Manifest;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Manifest.Sqlite;

namespace LoadPipe.Core.Tests.Manifest;

/// <summary>The manifest contract. PostgreSQL will run the same cases.</summary>
public sealed class SqliteManifestTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<SqliteManifest> OpenAsync() => SqliteManifest.OpenAsync(_dir["m.db"]);

    private static readonly TransferKey Key = new("/src/a", "/dst/a", "zstd");
    private static readonly SourceIdentity Identity = new(100, "v1", DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));

    [Fact]
    public async Task ConfirmChunk_SurvivesReopen_WithSinkState()
    {
        long id;
        await using (var m = await OpenAsync())
        {
            var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
            id = (await m.StartTransferAsync(Key, session, Identity)).Id;
            await m.ConfirmChunkAsync(id, new ChunkRecord(0, 0, 40, 40, "aa"), "state-1");
            await m.ConfirmChunkAsync(id, new ChunkRecord(1, 40, 20, null, "bb"), "state-2");
        }

        await using var reopened = await OpenAsync();
        var record = await reopened.FindTransferAsync(Key);
        var chunks = await reopened.GetChunksAsync(id);

        Assert.NotNull(record);
        Assert.Equal(60, record.BytesConfirmed);
        Assert.Equal("state-2", record.SinkState);
        Assert.Equal(TransferStatus.InProgress, record.Status);
        Assert.True(record.Source.SameAs(Identity));
        Assert.Equal([new ChunkRecord(0, 0, 40, 40, "aa"), new ChunkRecord(1, 40, 20, null, "bb")], chunks);
    }

    [Fact]
    public async Task StartTransfer_Existing_ResetsProgressAndChunks()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var first = await m.StartTransferAsync(Key, session, Identity);
        await m.ConfirmChunkAsync(first.Id, new ChunkRecord(0, 0, 40, 40, "aa"), "s");
        var changed = Identity with { Size = 200 };

        var second = await m.StartTransferAsync(Key, session, changed);

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(0, second.BytesConfirmed);
        Assert.Null(second.SinkState);
        Assert.Equal(200, second.Source.Size);
        Assert.Empty(await m.GetChunksAsync(first.Id));
    }

    [Fact]
    public async Task CompleteTransfer_RecordsHashesAndDropsChunks()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var t = await m.StartTransferAsync(Key, session, Identity);
        await m.ConfirmChunkAsync(t.Id, new ChunkRecord(0, 0, 100, 100, "aa"), "s");

        await m.CompleteTransferAsync(t.Id, new TransferCompletion(100, "md5hex", "shahex"));
        await m.EndSessionAsync(session, new SessionSummary("completed", 1, 0, 0, 100, 100));

        var done = (await m.FindTransferAsync(Key))!;
        Assert.Equal(TransferStatus.Completed, done.Status);
        Assert.Equal(("md5hex", "shahex", 100L), (done.Md5, done.Sha256, done.OutputSize));
        Assert.Null(done.SinkState);
        Assert.Empty(await m.GetChunksAsync(t.Id));
        var s = Assert.Single(await m.ListSessionsAsync(10).ToListAsync());
        Assert.Equal(("completed", 1, 100L), (s.Status, s.Files, s.BytesSent));
    }

    [Fact]
    public async Task FailThenAttach_CountsAttemptsAndKeepsError()
    {
        await using var m = await OpenAsync();
        var s1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var t = await m.StartTransferAsync(Key, s1, Identity);
        await m.FailTransferAsync(t.Id, "boom");
        var s2 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));

        await m.AttachTransferAsync(t.Id, s2);

        var record = (await m.FindTransferAsync(Key))!;
        Assert.Equal(2, record.Attempts);
        Assert.Equal(s2, record.SessionId);
        Assert.Equal("boom", record.LastError);
        Assert.Single(await m.ListTransfersAsync(s2).ToListAsync());
    }

    [Fact]
    public async Task ConfirmChunk_ManyWritersAtOnce_AllRecorded()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var ids = new List<long>();
        for (var i = 0; i < 8; i++)
            ids.Add((await m.StartTransferAsync(Key with { Source = "/src/" + i }, session, Identity)).Id);

        await Parallel.ForEachAsync(ids, async (id, ct) =>
        {
            for (var c = 0; c < 20; c++)
                await m.ConfirmChunkAsync(id, new ChunkRecord(c, c * 10L, 10, null, "x"), null, ct);
        });

        foreach (var id in ids) Assert.Equal(20, (await m.GetChunksAsync(id)).Count);
    }

    [Fact]
    public async Task DropChunks_FromSequence_RecomputesConfirmedBytes()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var t = await m.StartTransferAsync(Key, session, Identity);
        for (var c = 0; c < 4; c++) await m.ConfirmChunkAsync(t.Id, new ChunkRecord(c, c * 10L, 10, null, "x"), null);

        await m.DropChunksAsync(t.Id, 2);

        Assert.Equal(2, (await m.GetChunksAsync(t.Id)).Count);
        Assert.Equal(20, (await m.FindTransferAsync(Key))!.BytesConfirmed);
    }

    [Fact]
    public async Task TryLock_HeldByThisProcess_SecondIsRefusedUntilReleased()
    {
        await using var m = await OpenAsync();
        var first = await m.TryLockAsync(Key);

        var second = await m.TryLockAsync(Key);
        var other = await m.TryLockAsync(Key with { Source = "/src/b" });

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.NotNull(other);
        await first.DisposeAsync();
        await using var third = await m.TryLockAsync(Key);
        Assert.NotNull(third);
    }

    [Fact]
    public async Task TryLock_HolderProcessGone_IsTakenOver()
    {
        await using var m = await OpenAsync();
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + _dir["m.db"]))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = $"INSERT INTO locks(lock_id, pid, pid_start) VALUES ({Key.LockId}, 2147483000, 1)";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var taken = await m.TryLockAsync(Key);

        Assert.NotNull(taken);
    }

    [Fact]
    public void SourceIdentity_UnknownNeverMatches()
    {
        var unknown = new SourceIdentity(-1, null, null);

        Assert.False(unknown.SameAs(unknown));
        Assert.True(Identity.SameAs(Identity with { }));
        Assert.False(Identity.SameAs(Identity with { Version = "v2" }));
    }
}
