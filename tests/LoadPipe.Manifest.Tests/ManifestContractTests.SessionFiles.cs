using LoadPipe.Core.Manifest;
using Microsoft.Extensions.Time.Testing;

namespace LoadPipe.Manifest.Tests;

/// <summary>Each session's own record of its files, and what the manifest says of projects and config snapshots.</summary>
public abstract partial class ManifestContractTests
{
    [Fact]
    public async Task ListTransfers_FileFailedThenCompletedByALaterSession_EachSessionKeepsItsOwnRecord()
    {
        await using var m = await OpenAsync();
        var s1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var planned = Key with { Source = "/src/planned" };
        await m.AddPendingAsync(s1, [(planned, Identity)]);
        var t = await m.StartTransferAsync(Key, s1, Identity);
        await m.ConfirmChunkAsync(t.Lease, new ChunkRecord(0, 0, 40, 40, "aa"), null);
        await m.FailTransferAsync(t.Lease, "boom");

        var s2 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var lease = await m.AttachTransferAsync(t.Id, s2);
        await m.ConfirmChunkAsync(lease, new ChunkRecord(1, 40, 60, 100, "bb"), null);
        var running = Assert.Single(await m.ListTransfersAsync(s2).ToListAsync());
        await m.CompleteTransferAsync(lease, new TransferCompletion(100, "m", "s"));

        var first = await m.ListTransfersAsync(s1).ToListAsync();
        var second = Assert.Single(await m.ListTransfersAsync(s2).ToListAsync());
        var current = (await m.FindTransferAsync(Key))!;

        Assert.Equal([planned, Key], first.Select(r => r.Key));
        Assert.Equal(TransferStatus.Pending, first[0].Status);
        Assert.Equal((TransferStatus.Failed, 40L, "boom", s1), (first[1].Status, first[1].BytesConfirmed, first[1].LastError, first[1].SessionId));
        Assert.Null(first[1].Sha256);
        Assert.Equal((TransferStatus.InProgress, 100L), (running.Status, running.BytesConfirmed));
        Assert.Equal((TransferStatus.Completed, 100L, (string?)null, "s", s2), (second.Status, second.BytesConfirmed, second.LastError, second.Sha256, second.SessionId));
        // What skipping reads stays current.
        Assert.Equal((TransferStatus.Completed, s2, "s"), (current.Status, current.SessionId, current.Sha256));
    }

    [Fact]
    public async Task ListTransfers_BatchOfPendingFilesSomeKnownThenOneStarted_EachSessionKeepsItsPlannedFiles()
    {
        await using var m = await OpenAsync();
        var s1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));
        var keys = Enumerable.Range(0, 600).Select(i => new TransferKey($"/src/f{i:D3}", $"/dst/f{i:D3}", "")).ToList();
        await m.AddPendingAsync(s1, keys.Take(300).Select(k => (k, Identity)).ToList());
        var s2 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));

        // The files s1 planned are known: only the new ones join s2 as planned, the others when they start.
        await m.AddPendingAsync(s2, keys.Select(k => (k, Identity)).ToList());
        await m.StartTransferAsync(keys[0], s2, Identity);

        Assert.Equal(keys.Take(300), await m.ListTransfersAsync(s1).Select(r => r.Key).ToListAsync());
        Assert.Equal(TransferStatus.Pending, (await m.ListTransfersAsync(s1).FirstAsync()).Status);
        Assert.Equal(keys.Skip(300).Prepend(keys[0]), await m.ListTransfersAsync(s2).Select(r => r.Key).ToListAsync());
    }

    [Fact]
    public async Task ListProjectsAndConfigSnapshot_LabelledSessions_TotalsPerProjectAndTheRecordedText()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var m = await OpenAsync(clock);
        var b1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst", "birds", "defaults:\n  chunk_size: 1M\n"));
        await m.EndSessionAsync(b1, new SessionSummary(SessionStatus.Completed, 3, 0, 0, 300, 300));
        clock.Advance(TimeSpan.FromHours(1));
        var f1 = await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst", "fish"));
        await m.EndSessionAsync(f1, new SessionSummary(SessionStatus.Failed, 0, 0, 1, 0, 10));
        clock.Advance(TimeSpan.FromHours(1));
        var b2 = await m.BeginSessionAsync(new SessionStart("sync", "/src", "/dst", "birds"));
        await m.EndSessionAsync(b2, new SessionSummary(SessionStatus.Completed, 2, 1, 0, 5_000_000_000, 5_000_000_000));
        await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));

        var projects = await m.ListProjectsAsync().ToListAsync();

        Assert.Equal(
            [new ProjectRecord("birds", 2, 5, 5_000_000_300, clock.GetUtcNow()), new ProjectRecord("fish", 1, 0, 0, clock.GetUtcNow() - TimeSpan.FromHours(1))],
            projects);
        Assert.Equal("defaults:\n  chunk_size: 1M\n", await m.GetConfigSnapshotAsync(b1));
        Assert.Null(await m.GetConfigSnapshotAsync(f1));
    }
}
