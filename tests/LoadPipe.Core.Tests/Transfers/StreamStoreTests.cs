using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>Standard input and output are a store like any other: the engine learns what they are from the store's
/// features and from what it says of its object, not from a location written "-". These locations are named otherwise.</summary>
public sealed class StreamStoreTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CopyAsync_ToAStoreThatKeepsNothing_SendsTheFileAgainOnEveryRun()
    {
        var content = TestData.Random(300_000);
        var source = _dir.Write("in/a.bin", content);
        var captured = new List<MemoryStream>();
        var output = new StdioStorage(stdout: () =>
        {
            var stream = new MemoryStream();
            captured.Add(stream);
            return stream;
        });
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var engine = new TransferEngine(manifest);
        var from = new Location(new LocalStorage(), source, source);
        var to = new Location(output, "", "captured");

        var first = await engine.CopyAsync(from, to, new TransferOptions());
        var second = await engine.CopyAsync(from, to, new TransferOptions());

        Assert.Equal((SessionStatus.Completed, 0, (long)content.Length), (first.Status, first.FilesSkipped, first.BytesSent));
        Assert.Equal((SessionStatus.Completed, 0, (long)content.Length), (second.Status, second.FilesSkipped, second.BytesSent));
        Assert.Equal(2, captured.Count);
        Assert.All(captured, c => Assert.Equal(TestData.Sha256(content), TestData.Sha256(c.ToArray())));
    }

    [Fact]
    public async Task CopyAsync_FromAStreamReadOnce_IsSentWholeOnEveryRunAndCannotGoIntoAFolder()
    {
        var content = TestData.Random(300_000);
        var input = new StdioStorage(stdin: () => new MemoryStream(content));
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var engine = new TransferEngine(manifest);
        var from = new Location(input, "", "piped");
        var target = _dir["out/a.bin"];

        var first = await engine.CopyAsync(from, new Location(new LocalStorage(), target, target), new TransferOptions { Include = ["*.txt"] });
        var second = await engine.CopyAsync(from, new Location(new LocalStorage(), target, target), new TransferOptions());
        var folder = await Assert.ThrowsAsync<Errors.LoadPipeException>(() =>
            engine.CopyAsync(from, new Location(new LocalStorage(), _dir["out"], _dir["out"], IsFolderHint: true), new TransferOptions()));

        // A nameless source is not filtered, its unknown identity is never the recorded one, and it has no name to give a file.
        Assert.Equal((1, 0, (long)content.Length), (first.Files, first.FilesSkipped, first.BytesSent));
        Assert.Equal((1, 0, (long)content.Length), (second.Files, second.FilesSkipped, second.BytesSent));
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(File.ReadAllBytes(target)));
        Assert.Contains("has no file name", folder.Message, StringComparison.Ordinal);
    }
}
