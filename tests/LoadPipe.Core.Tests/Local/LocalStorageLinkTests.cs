using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Local;

/// <summary>Links in a local source: followed to what they lead to, and never out of a `root:` remote's root.</summary>
public sealed class LocalStorageLinkTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task StatAndList_LinkToAFile_DescribeTheFileItLeadsTo()
    {
        var content = TestData.Random(5000);
        _dir.Write("root/real.bin", content);
        File.CreateSymbolicLink(_dir["root/link.bin"], _dir["root/real.bin"]);
        var storage = new LocalStorage(_dir["root"]);

        var stat = await storage.StatAsync("link.bin");
        var listed = await storage.ListAsync("", recursive: true).SingleAsync(e => e.Path == "link.bin");

        Assert.Equal(content.Length, stat!.Size);
        Assert.Equal(stat.Version, listed.Version);
        Assert.Equal(stat.Version, (await storage.StatAsync("real.bin"))!.Version);
        await using var read = await storage.OpenReadAsync("link.bin", new ReadOptions(IfVersion: stat.Version));
    }

    [Fact]
    public async Task StatAndOpen_LinkLeadingOutsideTheRoot_Refused()
    {
        _dir.Write("outside/secret.bin", TestData.Random(100));
        Directory.CreateDirectory(_dir["root"]);
        File.CreateSymbolicLink(_dir["root/link.bin"], _dir["outside/secret.bin"]);
        Directory.CreateSymbolicLink(_dir["root/folder"], _dir["outside"]);
        var storage = new LocalStorage(_dir["root"]);

        var stat = await Assert.ThrowsAsync<LoadPipeException>(() => storage.StatAsync("link.bin"));
        var open = await Assert.ThrowsAsync<LoadPipeException>(() => storage.OpenReadAsync("folder/secret.bin", ReadOptions.FromStart));
        var listed = await storage.ListAsync("", recursive: true).SingleAsync(e => e.Path == "link.bin");
        var openListed = await Assert.ThrowsAsync<LoadPipeException>(() => storage.OpenReadAsync(listed.Path, ReadOptions.FromStart));

        Assert.Equal(ErrorKind.Usage, stat.Kind);
        Assert.Equal(ErrorKind.Usage, open.Kind);
        Assert.Equal(ErrorKind.Usage, openListed.Kind);
        Assert.Contains("outside", openListed.Message, StringComparison.Ordinal);
    }
}
