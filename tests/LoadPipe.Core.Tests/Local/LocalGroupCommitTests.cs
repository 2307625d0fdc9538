using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Local;

/// <summary>
/// The local disk's group commit: a batch is made durable, then named; its names are made durable by the next batch's
/// syncfs (where one is used: Linux 5.8+), or by <see cref="IGroupCommitWriter.SyncNamesAsync"/>, which fsyncs the
/// folders left; elsewhere each batch fsyncs its own folders at once.
/// </summary>
public sealed class LocalGroupCommitTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CommitAsync_LeavesItsNamesToTheNextCommitOrToSyncNames_AndEveryFileIsWholeAtItsName()
    {
        var local = new LocalStorage(_dir.Path);
        var deferred = LocalStagedObject.SyncByFileSystem && OperatingSystem.IsLinux() && Environment.Is64BitProcess;

        var first = await StageAsync(local, "a/1", "b/2", "b/3");
        await local.CommitAsync(first);
        Assert.All(first, s => Assert.True(s.Committed));
        // Named, their folders' names waiting for the next sync.
        Assert.Equal(deferred ? 2 : 0, local.UnsyncedFolders);

        var second = await StageAsync(local, "c/4");
        await local.CommitAsync(second);
        // The second batch's syncfs covered the first's names (the same file system); its own folder waits.
        Assert.Equal(deferred ? 1 : 0, local.UnsyncedFolders);

        await local.SyncNamesAsync();
        Assert.Equal(0, local.UnsyncedFolders);
        foreach (var staged in first.Concat(second))
        {
            Assert.True(staged.Committed);
            Assert.Equal(Content(staged.Path), await File.ReadAllBytesAsync(_dir[staged.Path]));
            Assert.False(File.Exists(LocalStorage.PartialPath(_dir[staged.Path])));
            await staged.DisposeAsync();
            Assert.True(File.Exists(_dir[staged.Path]), "disposing a committed object removed it");
        }
        // Nothing left to sync: a second call has nothing to do.
        await local.SyncNamesAsync();
    }

    private static async Task<List<IStagedObject>> StageAsync(LocalStorage local, params string[] paths)
    {
        var staged = new List<IStagedObject>();
        foreach (var path in paths)
            staged.Add(await local.StageAsync(path, Content(path), new WriteRequest { ExpectedSize = Content(path).Length }));
        return staged;
    }

    private static byte[] Content(string path) => TestData.Random(10 + path.Length, seed: path[^1]);
}
