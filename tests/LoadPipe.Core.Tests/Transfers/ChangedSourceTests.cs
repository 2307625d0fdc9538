using LoadPipe.Core.Manifest;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>A source rewritten in place while it is read: what was sent mixes two contents, and must never be committed.</summary>
public sealed class ChangedSourceTests : IDisposable
{
    private const int Chunk = 256 << 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CopyAsync_SourceRewrittenInPlaceWhileRead_StartsAgainAndCommitsTheNewContent()
    {
        var path = _dir.Write("src.bin", TestData.Random(4 * Chunk, seed: 1));
        var rewritten = TestData.Random(4 * Chunk, seed: 2);

        var (summary, warnings) = await CopyRewrittenAsync(path, () => RewriteInPlace(path, rewritten));

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(TestData.Sha256(rewritten), TestData.Sha256(File.ReadAllBytes(_dir["out/dst.bin"])));
        Assert.Contains(warnings, w => w.Contains("changed while it was read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CopyAsync_SourceRewrittenInPlaceWithItsTimePutBack_StartsAgainAndCommitsTheNewContent()
    {
        var path = _dir.Write("src.bin", TestData.Random(4 * Chunk, seed: 3));
        var modified = File.GetLastWriteTimeUtc(path);
        var rewritten = TestData.Random(4 * Chunk, seed: 4);

        // Same size, same modified time (as `touch -r` does): only the change time tells.
        var (summary, _) = await CopyRewrittenAsync(path, () =>
        {
            RewriteInPlace(path, rewritten);
            File.SetLastWriteTimeUtc(path, modified);
        });

        Assert.Equal(SessionStatus.Completed, summary.Status);
        Assert.Equal(TestData.Sha256(rewritten), TestData.Sha256(File.ReadAllBytes(_dir["out/dst.bin"])));
    }

    /// <summary>Copies <paramref name="path"/> chunk by chunk, running <paramref name="rewrite"/> once the first chunk was read.</summary>
    private async Task<(TransferSummary Summary, List<string> Warnings)> CopyRewrittenAsync(string path, Action rewrite)
    {
        var source = new RewritingStorage(new LocalStorage()) { AfterBytes = Chunk, Rewrite = rewrite };
        var to = _dir["out/dst.bin"];
        var warnings = new Warnings();
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var summary = await new TransferEngine(manifest).CopyAsync(new Location(source, path, path), new Location(new LocalStorage(), to, to),
            new TransferOptions { ChunkSize = Chunk, RetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(5) }, warnings);
        return (summary, warnings.Lines);
    }

    /// <summary>Overwrites the file's bytes where they are, as `dd conv=notrunc` does: same file, same size.</summary>
    private static void RewriteInPlace(string path, byte[] content)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Write(content);
    }

    private sealed class Warnings : ITransferObserver
    {
        public List<string> Lines { get; } = [];

        public void Warning(string message)
        {
            lock (Lines) Lines.Add(message);
        }
    }
}
