using System.Collections.Concurrent;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>Another holder of a transfer's or a destination's lock in the manifest (another lp process: here a second
/// manifest instance over the same file, which the SQLite manifest keeps apart as it does processes).</summary>
public sealed class BusyDestinationTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CopyAsync_FileInProgressElsewhere_CopiesTheOthersFirstThenWaitsForItAndCopiesIt()
    {
        var files = new[] { "a.bin", "b.bin", "c.bin" }.ToDictionary(n => n, n => TestData.Random(100_000, seed: n[0]));
        foreach (var (name, content) in files) _dir.Write("in/" + name, content);
        var (from, to) = (new Location(new LocalStorage(), _dir["in"], _dir["in"]), new Location(new LocalStorage(), _dir["out"], _dir["out"], IsFolderHint: true));
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        await using var other = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var held = (await other.TryLockAsync(new TransferKey(from.Child("b.bin").Uri, to.Child("b.bin").Uri, "")))!;
        var observer = new Waits();

        var copy = new TransferEngine(manifest).CopyAsync(from, to, new TransferOptions { Transfers = 2 }, observer);
        if (await Task.WhenAny(observer.Waiting.Task, copy) == copy)
            Assert.Fail($"the run ended without waiting for b.bin: {await copy}");
        var doneBeforeWaiting = observer.Finished.ToArray();
        await held.DisposeAsync();
        var summary = await copy;

        Assert.Equal(["a.bin", "c.bin"], doneBeforeWaiting.Select(Path.GetFileName).Order());
        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(3, summary.Files);
        Assert.Equal(0, summary.FilesSkipped);
        foreach (var (name, content) in files)
            Assert.Equal(TestData.Sha256(content), TestData.Sha256(File.ReadAllBytes(_dir["out/" + name])));
    }

    [Fact]
    public async Task CopyAsync_TransferTakenOverWhileWriting_FileFailsAndLeavesRecordAndPartialFileToTheNewHolder()
    {
        const int chunk = 64 << 10;
        var content = TestData.Random(4 * chunk);
        var source = _dir.Write("in/a.bin", content);
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        await using var other = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var storage = new FaultyStorage(new LocalStorage());
        TransferLease? taken = null;
        // Before the third chunk is written, another process takes the transfer (as after this one lost its lock).
        storage.BeforeWrite = async index =>
        {
            if (index != 2) return;
            var record = Assert.Single(await other.ListTransfersAsync(null).ToListAsync());
            taken = await other.AttachTransferAsync(record.Id, record.SessionId);
        };

        var summary = await new TransferEngine(manifest).CopyAsync(new Location(new LocalStorage(), source, source),
            new Location(storage, _dir["out/a.bin"], _dir["out/a.bin"]), new TransferOptions { ChunkSize = chunk, Retries = 0 });

        Assert.Equal(SessionStatus.Failed, summary.Status);
        Assert.Contains("taken over by another process", Assert.Single(summary.Failures).Error, StringComparison.Ordinal);
        var left = Assert.Single(await manifest.ListTransfersAsync(null).ToListAsync());
        Assert.Equal((TransferStatus.InProgress, (string?)null, taken!.Epoch, 2L * chunk), (left.Status, left.LastError, left.Epoch, left.BytesConfirmed));
        Assert.Equal([0, 1], (await manifest.GetChunksAsync(left.Id)).Select(c => c.Sequence));
        Assert.True(File.Exists(_dir["out/.a.bin.lp-partial"]), "the new holder's partial file was aborted");
    }

    [Fact]
    public async Task CopyAsync_PreviousHolderConfirmsChunksBeforeTheTakeover_ResumesAfterThem()
    {
        const int chunk = 64 << 10;
        var content = TestData.Random(5 * chunk);
        var source = _dir.Write("in/a.bin", content);
        var target = _dir["out/a.bin"];
        await using var manifest = new DelayedConfirmations(await SqliteManifest.OpenAsync(_dir["manifest.db"]));
        var storage = new FaultyStorage(new LocalStorage()) { CrashAfterWrites = 3 };
        var (from, to) = (new Location(new LocalStorage(), source, source), new Location(storage, target, target));
        var options = new TransferOptions { ChunkSize = chunk, Retries = 0 };
        // The first holder writes three chunks; their confirmations are held back on their way to the manifest.
        manifest.Holding = true;
        var first = await new TransferEngine(manifest).CopyAsync(from, to, options);
        Assert.Equal((SessionStatus.Failed, 3), (first.Status, manifest.Held));
        Assert.Equal(0, Assert.Single(await manifest.ListTransfersAsync(null).ToListAsync()).BytesConfirmed);

        // They land once the next run, holding the transfer's lock, has read the record (nothing confirmed there) and
        // before it takes the transfer: its decision must be made from the record as taking it left it.
        manifest.Holding = false;
        manifest.DeliverAfterLockedFind = true;
        storage.CrashAfterWrites = null;
        var second = await new TransferEngine(manifest).CopyAsync(from, to, options);

        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal((3L * chunk, 2L * chunk), (second.BytesResumed, second.BytesSent));
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(File.ReadAllBytes(target)));
    }

    [Fact]
    public async Task CopyAsync_DestinationWrittenFromAnotherSource_FailsBusyWithoutTouchingIt()
    {
        var content = TestData.Random(100_000);
        var source = _dir.Write("in/mine.bin", content);
        var target = _dir["out/x.bin"];
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        await using var other = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        await using var held = (await other.TryLockAsync(ManifestQueries.DestinationLock(target)))!;

        var summary = await new TransferEngine(manifest).CopyAsync(new Location(new LocalStorage(), source, source), new Location(new LocalStorage(), target, target), new TransferOptions());

        Assert.Equal(SessionStatus.Failed, summary.Status);
        var failure = Assert.Single(summary.Failures);
        Assert.Equal(ErrorKind.Busy, failure.ErrorKind);
        Assert.StartsWith("destination busy: ", failure.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(LocalStorage.PartialPath(target)));
        // Recorded as failed, for `lp retry` once the other writer is done.
        var record = Assert.Single(await manifest.ListTransfersAsync(summary.Session).ToListAsync());
        Assert.Equal(TransferStatus.Failed, record.Status);
    }

    private sealed class Waits : ITransferObserver
    {
        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<string> Finished { get; } = new();

        public void FileFinished(FileResult result) => Finished.Enqueue(result.Destination);

        public void Warning(string message)
        {
            if (message.Contains("waiting", StringComparison.Ordinal)) Waiting.TrySetResult();
        }
    }
}
