using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Tests;

/// <summary>Completions recorded in batches (the group commit of small files).</summary>
public abstract partial class ManifestContractTests
{
    [Fact]
    public async Task CompleteTransfers_NewPendingInProgressAndCompleted_AllCompletedInTheSessionWithTheirHashes()
    {
        await using var m = await OpenAsync();
        var earlier = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var pending = Key with { Source = "/src/pending" };
        var resumed = Key with { Source = "/src/resumed" };
        var redone = Key with { Source = "/src/redone" };
        var fresh = Key with { Source = "/src/fresh" };
        await m.AddPendingAsync(earlier, [(pending, Identity)]);
        var interrupted = await m.StartTransferAsync(resumed, earlier, Identity);
        await m.ConfirmChunkAsync(interrupted.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), "state");
        var done = await m.StartTransferAsync(redone, earlier, Identity);
        await m.CompleteTransferAsync(done.Lease, new TransferCompletion(100, "old-md5", "old-sha"));

        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var changed = Identity with { Version = "v2" };
        await m.CompleteTransfersAsync(session,
        [
            new CompletedTransfer(pending, Identity, new TransferCompletion(100, null, "sha-p")),
            new CompletedTransfer(resumed, Identity, new TransferCompletion(100, "md5-r", "sha-r")),
            new CompletedTransfer(redone, changed, new TransferCompletion(7, null, "sha-d")),
            new CompletedTransfer(fresh, Identity, new TransferCompletion(0, null, "sha-f")),
        ]);

        var found = await m.FindTransfersAsync([pending, resumed, redone, fresh]);
        var recorded = await m.ListTransfersAsync(session).ToListAsync();

        Assert.All(found.Values, r => Assert.Equal((TransferStatus.Completed, session, (string?)null, (string?)null), (r.Status, r.SessionId, r.SinkState, r.LastError)));
        Assert.Equal((100L, 100L, "md5-r", "sha-r"), (found[resumed].OutputSize, found[resumed].BytesConfirmed, found[resumed].Md5, found[resumed].Sha256));
        Assert.Empty(await m.GetChunksAsync(found[resumed].Id));
        // The transfer was taken: whoever held it before is fenced off.
        Assert.True(found[resumed].Epoch > interrupted.Epoch);
        await Assert.ThrowsAsync<TransferFencedException>(() => m.ConfirmChunkAsync(interrupted.Lease, new ChunkRecord(1, 40, 60, 100, "bb"), null));
        Assert.Equal((7L, "sha-d", (string?)null, "v2"), (found[redone].OutputSize, found[redone].Sha256, found[redone].Md5, found[redone].Source.Version));
        Assert.Equal((0L, "sha-f", 1), (found[fresh].OutputSize, found[fresh].Sha256, found[fresh].Attempts));
        // Each session keeps its own record: the earlier one still shows what it did.
        Assert.Equal([pending, resumed, redone, fresh], recorded.Select(r => r.Key));
        Assert.All(recorded, r => Assert.Equal(TransferStatus.Completed, r.Status));
        Assert.Equal("sha-p", recorded[0].Sha256);
        var before = await m.ListTransfersAsync(earlier).ToListAsync();
        Assert.Equal([TransferStatus.Pending, TransferStatus.InProgress, TransferStatus.Completed], before.Select(r => r.Status));
        Assert.Equal("old-sha", before[2].Sha256);
    }

    [Fact]
    public async Task CompleteTransfers_ThousandsAtOnce_AllRecordedAndAnEmptyBatchDoesNothing()
    {
        await using var m = await OpenAsync();
        var session = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var files = Enumerable.Range(0, 3000)
            .Select(i => new CompletedTransfer(new TransferKey($"/src/f{i:D4}", $"/dst/f{i:D4}", ""), Identity with { Size = i }, new TransferCompletion(i, null, $"sha{i}")))
            .ToList();
        await m.AddPendingAsync(session, files.Take(1000).Select(f => (f.Key, f.Source)).ToList());

        await m.CompleteTransfersAsync(session, files);
        await m.CompleteTransfersAsync(session, []);

        var found = await m.FindTransfersAsync(files.Select(f => f.Key).ToList());
        Assert.Equal(3000, found.Count);
        Assert.All(files, f => Assert.Equal((TransferStatus.Completed, f.Completion.OutputSize, f.Completion.Sha256),
            (found[f.Key].Status, found[f.Key].OutputSize, found[f.Key].Sha256)));
        Assert.Equal(3000, await m.ListTransfersAsync(session).CountAsync());
    }
}
