using LoadPipe.Core.Manifest;
using LoadPipe.Manifest.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Manifest.Tests;

/// <summary>
/// The manifest contract (<see cref="IManifest"/>): every backend runs every case through a subclass that says how
/// to open it. xunit makes a new instance per test, so each test has its own file or database.
/// </summary>
public abstract partial class ManifestContractTests : IAsyncLifetime
{
    protected static readonly TransferKey Key = new("/src/a", "/dst/a", "zstd");
    protected static readonly SourceIdentity Identity = new(100, "v1", DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));

    /// <summary>Opens this test's manifest. Each call is a new instance over the same state, as another process would open it.</summary>
    protected abstract Task<IManifest> OpenAsync(TimeProvider? time = null);

    /// <summary>The backend name and target a <see cref="LockHolder"/> process opens to reach this test's manifest.</summary>
    protected abstract (string Backend, string Target) OtherProcessTarget { get; }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task ConfirmChunk_SurvivesReopen_WithSinkState()
    {
        long id;
        await using (var m = await OpenAsync())
        {
            var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
            var lease = (await m.StartTransferAsync(Key, session, Identity)).Lease;
            id = lease.Id;
            await m.ConfirmChunkAsync(lease, new ChunkRecord(0, 0, 40, 40, "aa"), "state-1");
            await m.ConfirmChunkAsync(lease, new ChunkRecord(1, 40, 20, null, "bb"), "state-2");
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
    public async Task FindTransfers_Batch_ReturnsExactlyTheOnesThatExist()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var keys = Enumerable.Range(0, 1200).Select(i => new TransferKey($"/src/f{i:D4}", $"/dst/f{i:D4}", "")).ToList();
        foreach (var key in keys.Where((_, i) => i % 3 == 0))
        {
            var t = await m.StartTransferAsync(key, session, Identity);
            if (key.Source.EndsWith('0')) await m.CompleteTransferAsync(t.Lease, new TransferCompletion(100, "m", "s"));
        }
        // Same source and destination through other stages is another transfer.
        var asked = keys.Append(keys[0] with { Pipeline = "zstd" }).ToList();

        var found = await m.FindTransfersAsync(asked);

        Assert.Equal(400, found.Count);
        Assert.All(found, f => Assert.Equal(f.Key, f.Value.Key));
        Assert.Equal(keys.Where((_, i) => i % 3 == 0).ToHashSet(), found.Keys.ToHashSet());
        Assert.Equal(TransferStatus.Completed, found[keys[30]].Status);
        Assert.Equal(TransferStatus.InProgress, found[keys[3]].Status);
        Assert.Empty(await m.FindTransfersAsync([]));
    }

    [Fact]
    public async Task FindTransfers_KeysWithQuotesControlsAndNonAscii_FoundByExactlyTheirOwnText()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        string[] names = ["a\"b", "back\\slash", "tab\there", "line\nfeed", "bell\u0007", "é", "e\u0301", "日本語", "😀 smile",
            "[\"a\",\"b\"]", "\\u0041", "del\u007f"];
        var keys = names.Select(n => new TransferKey($"/src/{n}", $"/dst/{n}", n.Length % 2 == 0 ? "" : "zstd | sha256")).ToList();
        foreach (var key in keys)
        {
            var t = await m.StartTransferAsync(key, session, Identity);
            await m.CompleteTransferAsync(t.Lease, new TransferCompletion(key.Source.Length, null, key.Source));
        }
        // Near misses: the text of a JSON escape (for a name that exists decoded), and another pipeline.
        var near = new[] { new TransferKey("/src/\\u00e9", "/dst/\\u00e9", "zstd | sha256"), new TransferKey("/src/A", "/dst/A", ""),
            keys[0] with { Pipeline = "x" } };

        var found = await m.FindTransfersAsync([.. keys, .. near]);

        Assert.Equal(keys.ToHashSet(), found.Keys.ToHashSet());
        Assert.All(found, f => Assert.Equal((f.Key, f.Key.Source), (f.Value.Key, f.Value.Sha256)));
    }

    [Fact]
    public async Task AddPending_NewAndExisting_InsertsOnlyNewOnesAsPending()
    {
        await using var m = await OpenAsync();
        var first = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var started = await m.StartTransferAsync(Key, first, Identity);
        await m.ConfirmChunkAsync(started.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), "state");
        var second = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var planned = Enumerable.Range(0, 700).Select(i => (new TransferKey($"/src/p{i}", $"/dst/p{i}", ""), i % 2 == 0 ? Identity : new SourceIdentity(-1, null, null)))
            .Append((Key, Identity)).ToList();

        await m.AddPendingAsync(second, planned);
        await m.AddPendingAsync(second, planned);

        var inSecond = await m.ListTransfersAsync(second).ToListAsync();
        Assert.Equal(700, inSecond.Count);
        Assert.All(inSecond, t => Assert.Equal(TransferStatus.Pending, t.Status));
        Assert.True(inSecond.Single(t => t.Key.Source == "/src/p2").Source.SameAs(Identity));
        Assert.True(inSecond.Single(t => t.Key.Source == "/src/p1").Source.IsUnknown);
        var kept = await m.FindTransferAsync(Key);
        Assert.Equal((TransferStatus.InProgress, 40L, "state", first), (kept!.Status, kept.BytesConfirmed, kept.SinkState, kept.SessionId));

        var again = await m.StartTransferAsync(planned[4].Item1, second, Identity);
        Assert.Equal(TransferStatus.InProgress, again.Status);
    }

    [Fact]
    public async Task StartTransferIfNew_NoRecord_StartsIt_AnExistingOneIsLeftAsItIs()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var planned = new TransferKey("/src/planned", "/dst/planned", "");
        await m.AddPendingAsync(session, [(planned, Identity)]);

        var (fresh, started) = await m.StartTransferIfNewAsync(Key, session, Identity);
        await m.ConfirmChunkAsync(fresh.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), "state");
        var (again, startedAgain) = await m.StartTransferIfNewAsync(Key, session, Identity with { Size = 999 });
        var (pending, startedPending) = await m.StartTransferIfNewAsync(planned, session, Identity);
        var inSession = await m.ListTransfersAsync(session).ToListAsync();

        Assert.True(started);
        Assert.Equal((TransferStatus.InProgress, 0L, session, 100L), (fresh.Status, fresh.BytesConfirmed, fresh.SessionId, fresh.Source.Size));
        Assert.False(startedAgain);
        Assert.Equal((fresh.Id, TransferStatus.InProgress, 40L, "state", fresh.Epoch, 100L),
            (again.Id, again.Status, again.BytesConfirmed, again.SinkState, again.Epoch, again.Source.Size));
        Assert.False(startedPending);
        Assert.Equal(TransferStatus.Pending, pending.Status);
        Assert.Contains(inSession, t => t.Id == fresh.Id && t.Status == TransferStatus.InProgress);
    }

    [Fact]
    public async Task StartTransfer_Existing_ResetsProgressAndChunks()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var first = await m.StartTransferAsync(Key, session, Identity);
        await m.ConfirmChunkAsync(first.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), "s");
        var changed = Identity with { Size = 200 };

        var second = await m.StartTransferAsync(Key, session, changed);

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(0, second.BytesConfirmed);
        Assert.Null(second.SinkState);
        Assert.Equal(200, second.Source.Size);
        Assert.Empty(await m.GetChunksAsync(first.Id));
    }

    [Fact]
    public async Task StartTransfer_UnknownSource_RecordsNullsAndMinusOne()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "-", "/dst"));

        var started = await m.StartTransferAsync(Key, session, new SourceIdentity(-1, null, null));

        Assert.True((await m.FindTransferAsync(Key))!.Source.IsUnknown);
        Assert.Equal(started, await m.FindTransferAsync(Key));
    }

    [Fact]
    public async Task Times_ComeFromTheTimeProvider_ToTheMillisecond()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
        await using var m = await OpenAsync(clock);
        var started = clock.GetUtcNow();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst", Project: "p1", ConfigSnapshot: "defaults: {}"));
        await m.StartTransferAsync(Key, session, Identity);
        clock.Advance(TimeSpan.FromSeconds(90));

        await m.EndSessionAsync(session, new SessionSummary(SessionStatus.Completed, 1, 0, 0, 100, 100));
        await m.FailTransferAsync((await m.FindTransferAsync(Key))!.Lease, "x");

        var s = Assert.Single(await m.ListSessionsAsync(10).ToListAsync());
        Assert.Equal((started, started.AddSeconds(90), "p1"), (s.StartedAt, s.FinishedAt, s.Project));
        Assert.Equal(started.AddSeconds(90), (await m.FindTransferAsync(Key))!.UpdatedAt);
    }

    [Fact]
    public async Task CompleteTransfer_RecordsHashesAndDropsChunks()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var t = await m.StartTransferAsync(Key, session, Identity);
        await m.ConfirmChunkAsync(t.Lease, new ChunkRecord(0, 0, 100, 100, "aa"), "s");

        await m.CompleteTransferAsync(t.Lease, new TransferCompletion(100, "md5hex", "shahex"));
        await m.EndSessionAsync(session, new SessionSummary(SessionStatus.Completed, 1, 0, 0, 100, 100));

        var done = (await m.FindTransferAsync(Key))!;
        Assert.Equal(TransferStatus.Completed, done.Status);
        Assert.Equal(("md5hex", "shahex", 100L), (done.Md5, done.Sha256, done.OutputSize));
        Assert.Null(done.SinkState);
        Assert.Empty(await m.GetChunksAsync(t.Id));
        var s = Assert.Single(await m.ListSessionsAsync(10).ToListAsync());
        Assert.Equal((SessionStatus.Completed, 1, 100L), (s.Status, s.Files, s.BytesSent));
    }

    [Fact]
    public async Task FailThenAttach_CountsAttemptsAndKeepsError()
    {
        await using var m = await OpenAsync();
        var s1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var t = await m.StartTransferAsync(Key, s1, Identity);
        await m.FailTransferAsync(t.Lease, "boom");
        var s2 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));

        await m.AttachTransferAsync(t.Id, s2);

        var record = (await m.FindTransferAsync(Key))!;
        Assert.Equal(2, record.Attempts);
        Assert.Equal(s2, record.SessionId);
        Assert.Equal("boom", record.LastError);
        Assert.Single(await m.ListTransfersAsync(s2).ToListAsync());
    }

    [Fact]
    public async Task ConfirmAndComplete_AfterAnotherProcessTookTheTransferOver_FencedAndTheRecordIsTheNewHolders()
    {
        // Two instances, as two processes: A resumes the transfer, loses its lock (cut off from the database), and B
        // takes the transfer over while A still runs.
        await using var a = await OpenAsync();
        await using var b = await OpenAsync();
        var session = await a.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var earlier = await a.StartTransferAsync(Key, session, Identity);
        await a.ConfirmChunkAsync(earlier.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), "state-0");
        var leaseA = await a.AttachTransferAsync(earlier.Id, session);
        var leaseB = await b.AttachTransferAsync(earlier.Id, session);

        var confirmA = await Assert.ThrowsAsync<TransferFencedException>(() => a.ConfirmChunkAsync(leaseA, new ChunkRecord(1, 40, 20, null, "from-a"), "state-a"));
        await b.ConfirmChunkAsync(leaseB, new ChunkRecord(1, 40, 30, null, "from-b"), "state-b");
        await Assert.ThrowsAsync<TransferFencedException>(() => a.ConfirmChunkAsync(leaseA, new ChunkRecord(2, 60, 20, null, "from-a"), "state-a"));
        await Assert.ThrowsAsync<TransferFencedException>(() => a.SetSinkStateAsync(leaseA, null));
        await Assert.ThrowsAsync<TransferFencedException>(() => a.DropChunksAsync(leaseA, 0));
        await Assert.ThrowsAsync<TransferFencedException>(() => a.FailTransferAsync(leaseA, "failed in A"));
        var whileB = (await a.FindTransferAsync(Key))!;
        var chunksWhileB = await a.GetChunksAsync(earlier.Id);
        await Assert.ThrowsAsync<TransferFencedException>(() => a.CompleteTransferAsync(leaseA, new TransferCompletion(60, "md5-a", "sha-a")));
        await b.CompleteTransferAsync(leaseB, new TransferCompletion(70, "md5-b", "sha-b"));

        Assert.Equal(leaseA with { Epoch = leaseA.Epoch + 1 }, leaseB);
        Assert.Contains("taken over by another process", confirmA.Message, StringComparison.Ordinal);
        Assert.Equal([new ChunkRecord(0, 0, 40, 40, "aa"), new ChunkRecord(1, 40, 30, null, "from-b")], chunksWhileB);
        Assert.Equal((TransferStatus.InProgress, 70L, "state-b", (string?)null), (whileB.Status, whileB.BytesConfirmed, whileB.SinkState, whileB.LastError));
        var done = (await a.FindTransferAsync(Key))!;
        Assert.Equal((TransferStatus.Completed, 70L, "md5-b", "sha-b", leaseB.Epoch), (done.Status, done.OutputSize, done.Md5, done.Sha256, done.Epoch));
    }

    [Fact]
    public async Task StartTransfer_Again_FencesTheEarlierLease()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var first = await m.StartTransferAsync(Key, session, Identity);

        var second = await m.StartTransferAsync(Key, session, Identity);

        await Assert.ThrowsAsync<TransferFencedException>(() => m.ConfirmChunkAsync(first.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), "s"));
        await m.ConfirmChunkAsync(second.Lease, new ChunkRecord(0, 0, 40, 40, "bb"), "s");
        Assert.Equal("bb", Assert.Single(await m.GetChunksAsync(first.Id)).Checksum);
    }

    [Fact]
    public async Task ListSessionsAndTransfers_NewestSessionFirst_TransfersInOrder()
    {
        await using var m = await OpenAsync();
        var s1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var s2 = await m.BeginSessionAsync(new SessionStart("sync", "/src", "/dst"));
        for (var i = 0; i < 3; i++) await m.StartTransferAsync(Key with { Source = "/src/" + i }, i == 1 ? s1 : s2, Identity);

        Assert.Equal([s2, s1], await m.ListSessionsAsync(10).Select(s => s.Id).ToListAsync());
        Assert.Equal([s2], await m.ListSessionsAsync(1).Select(s => s.Id).ToListAsync());
        Assert.Equal(["/src/0", "/src/1", "/src/2"], await m.ListTransfersAsync(null).Select(t => t.Key.Source).ToListAsync());
        Assert.Equal(["/src/0", "/src/2"], await m.ListTransfersAsync(s2).Select(t => t.Key.Source).ToListAsync());
    }

    [Fact]
    public async Task GetSession_ById_ThatSessionOrNull()
    {
        await using var m = await OpenAsync();
        var s1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst", Project: "p1"));
        var s2 = await m.BeginSessionAsync(new SessionStart("sync", "/a", "/b"));
        await m.EndSessionAsync(s1, new SessionSummary(SessionStatus.Partial, 3, 1, 1, 300, 200));

        var first = await m.GetSessionAsync(s1);
        var second = await m.GetSessionAsync(s2);

        Assert.Equal((s1, "copy", "p1", SessionStatus.Partial, 3, 1, 1, 300L, 200L),
            (first!.Id, first.Command, first.Project, first.Status, first.Files, first.FilesSkipped, first.FilesFailed, first.Bytes, first.BytesSent));
        Assert.Equal((s2, "sync", "/a", SessionStatus.Running), (second!.Id, second.Command, second.Source, second.Status));
        Assert.Null(await m.GetSessionAsync(s2 + 1000));
    }

    [Fact]
    public async Task ConfirmChunk_ManyWritersAtOnce_AllRecorded()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var ids = new List<TransferLease>();
        for (var i = 0; i < 8; i++)
            ids.Add((await m.StartTransferAsync(Key with { Source = "/src/" + i }, session, Identity)).Lease);

        await Parallel.ForEachAsync(ids, async (id, ct) =>
        {
            for (var c = 0; c < 20; c++)
                await m.ConfirmChunkAsync(id, new ChunkRecord(c, c * 10L, 10, null, "x"), null, ct);
        });

        foreach (var id in ids) Assert.Equal(20, (await m.GetChunksAsync(id.Id)).Count);
    }

    [Fact]
    public async Task DropChunks_FromSequence_RecomputesConfirmedBytes()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var t = await m.StartTransferAsync(Key, session, Identity);
        for (var c = 0; c < 4; c++) await m.ConfirmChunkAsync(t.Lease, new ChunkRecord(c, c * 10L, 10, null, "x"), null);

        await m.DropChunksAsync(t.Lease, 2);

        Assert.Equal(2, (await m.GetChunksAsync(t.Id)).Count);
        Assert.Equal(20, (await m.FindTransferAsync(Key))!.BytesConfirmed);
        await m.DropChunksAsync(t.Lease, 0);
        Assert.Equal(0, (await m.FindTransferAsync(Key))!.BytesConfirmed);
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
        await other.DisposeAsync();
        await using var third = await m.TryLockAsync(Key);
        Assert.NotNull(third);
    }

    [Fact]
    public async Task TryLock_HeldByAnotherProcess_RefusedUntilThatProcessIsKilled()
    {
        await using var m = await OpenAsync();
        await using var holder = await LockHolder.StartAsync(OtherProcessTarget.Backend, OtherProcessTarget.Target, Key);

        var whileAlive = await m.TryLockAsync(Key);
        await using var unrelated = await m.TryLockAsync(Key with { Source = "/src/b" });
        await holder.KillAsync();
        await using var afterDeath = await Eventually.NotNullAsync(() => m.TryLockAsync(Key));

        Assert.Null(whileAlive);
        Assert.NotNull(unrelated);
        Assert.NotNull(afterDeath);
    }

    [Fact]
    public async Task TryLock_DestinationLockHeldByAnotherProcess_RefusedForThatDestinationOnly()
    {
        await using var m = await OpenAsync();
        await using var holder = await LockHolder.StartAsync(OtherProcessTarget.Backend, OtherProcessTarget.Target, ManifestQueries.DestinationLock(Key.Destination));

        var sameDestination = await m.TryLockAsync(ManifestQueries.DestinationLock(Key.Destination));
        await using var otherDestination = await m.TryLockAsync(ManifestQueries.DestinationLock(Key.Destination + ".2"));
        await using var transfer = await m.TryLockAsync(Key);
        await holder.KillAsync();
        await using var afterDeath = await Eventually.NotNullAsync(() => m.TryLockAsync(ManifestQueries.DestinationLock(Key.Destination)));

        Assert.Null(sameDestination);
        Assert.NotNull(otherDestination);
        // The transfer's own lock is another key: held together with the destination's by one writer.
        Assert.NotNull(transfer);
        Assert.NotNull(afterDeath);
    }

    [Fact]
    public async Task TryLockPair_BothTaken_EachRefusedToAnotherInstanceUntilTheHandleLetsBothGo()
    {
        await using var m = await OpenAsync();
        await using var other = await OpenAsync();
        var destination = ManifestQueries.DestinationLock(Key.Destination);

        var pair = await m.TryLockPairAsync(Key, destination);
        var transferElsewhere = await other.TryLockAsync(Key);
        var destinationElsewhere = await other.TryLockAsync(destination);
        var pairElsewhere = await other.TryLockPairAsync(Key, destination);
        var pairHere = await m.TryLockPairAsync(Key, destination);
        await pair.Held!.DisposeAsync();
        var afterRelease = await other.TryLockPairAsync(Key, destination);

        Assert.Null(transferElsewhere);
        Assert.Null(destinationElsewhere);
        Assert.Equal((false, true), (pairElsewhere.Held is not null, pairElsewhere.FirstBusy));
        Assert.Equal((false, true), (pairHere.Held is not null, pairHere.FirstBusy));
        Assert.NotNull(afterRelease.Held);
        await afterRelease.Held!.DisposeAsync();
    }

    [Fact]
    public async Task TryLockPair_OneHeldByAnotherProcess_SaysWhichAndHoldsNeither()
    {
        await using var m = await OpenAsync();
        var destination = ManifestQueries.DestinationLock(Key.Destination);

        LockPair destinationBusy, transferBusy;
        await using (var holder = await LockHolder.StartAsync(OtherProcessTarget.Backend, OtherProcessTarget.Target, destination))
        {
            destinationBusy = await m.TryLockPairAsync(Key, destination);
            // The transfer's lock was let go again: it is free, here and for another process.
            await using var transferAlone = await m.TryLockAsync(Key);
            Assert.NotNull(transferAlone);
        }
        await using (var holder = await LockHolder.StartAsync(OtherProcessTarget.Backend, OtherProcessTarget.Target, Key))
        {
            transferBusy = await m.TryLockPairAsync(Key, destination);
            await using var destinationAlone = await m.TryLockAsync(destination);
            Assert.NotNull(destinationAlone);
        }
        var afterBoth = await Eventually.NotNullAsync(async () => (await m.TryLockPairAsync(Key, destination)).Held);

        Assert.Equal((false, false), (destinationBusy.Held is not null, destinationBusy.FirstBusy));
        Assert.Equal((false, true), (transferBusy.Held is not null, transferBusy.FirstBusy));
        await afterBoth!.DisposeAsync();
    }

    [Fact]
    public async Task WithLiveness_RunningSession_RunningWhileItsProcessHoldsItsLockThenInterrupted()
    {
        await using var m = await OpenAsync();
        var running = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var ended = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        await m.EndSessionAsync(ended, new SessionSummary(SessionStatus.Completed, 1, 0, 0, 10, 10));
        await using var holder = await LockHolder.StartAsync(OtherProcessTarget.Backend, OtherProcessTarget.Target, ManifestQueries.SessionLock(running));

        var whileAlive = await m.WithLivenessAsync((await m.GetSessionAsync(running))!);
        await holder.KillAsync();
        var afterDeath = await Eventually.NotNullAsync(async () =>
            await m.WithLivenessAsync((await m.GetSessionAsync(running))!) is { Status: SessionStatus.Interrupted } s ? s : null);
        var completed = await m.WithLivenessAsync((await m.GetSessionAsync(ended))!);

        Assert.Equal(SessionStatus.Running, whileAlive.Status);
        Assert.NotNull(afterDeath);
        Assert.Equal(SessionStatus.Completed, completed.Status);
        // Looking did not take the lock for good: the session can still be run again.
        await using var again = await m.TryLockAsync(ManifestQueries.SessionLock(running));
        Assert.NotNull(again);
    }

    [Fact]
    public async Task Open_ManyAtOnceOnNewState_AllSucceed()
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OpenAsync()));

        foreach (var m in opened)
        {
            await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
            await m.DisposeAsync();
        }
    }

    [Fact]
    public async Task TryLock_TwoInstancesAtOnce_OnlyOneHolds()
    {
        await using var first = await OpenAsync();
        await using var second = await OpenAsync();

        var both = await Task.WhenAll(first.TryLockAsync(Key), second.TryLockAsync(Key));
        var winner = Assert.Single(both, h => h is not null)!;
        var refusedAgain = await (both[0] is null ? first : second).TryLockAsync(Key);
        await winner.DisposeAsync();
        await using var afterRelease = await (both[0] is null ? first : second).TryLockAsync(Key);

        Assert.Null(refusedAgain);
        Assert.NotNull(afterRelease);
    }
}
