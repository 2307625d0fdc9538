using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Conformance;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Uploads;

/// <summary>The push entry on local disk, with a SQLite manifest.</summary>
public sealed class LocalUploadTests : UploadContractTests
{
    private readonly TempFolder _folder = new();

    protected override Task<IManifest> OpenManifestAsync() =>
        SqliteManifest.OpenAsync(_folder["state/manifest.db"]).ContinueWith(t => (IManifest)t.Result, TaskScheduler.Default);

    protected override LocationResolver Resolver { get; } = new([new LocalStorageFactory()]);

    protected override string Destination(string name) => _folder["out/" + name];

    protected override async Task<byte[]?> ReadObjectAsync(string name) =>
        File.Exists(Destination(name)) ? await File.ReadAllBytesAsync(Destination(name)) : null;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task Append_NothingLeftBehind_NoPartialFileOnceCompleted()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(1000);
        var upload = await uploads.CreateAsync(new Core.Uploads.NewUpload { Destination = Resolver.Resolve(Destination("clean.bin")), Length = 1000 });

        await uploads.AppendAsync(upload.Id, 0, new MemoryStream(data, 0, 400), Core.Uploads.AppendOptions.None);
        Assert.True(File.Exists(LocalStorage.PartialPath(Destination("clean.bin"))));
        await uploads.AppendAsync(upload.Id, 400, new MemoryStream(data, 400, 600), Core.Uploads.AppendOptions.None);

        Assert.Empty(Directory.GetFiles(_folder["out"], ".*"));
        Assert.Equal(data, await ReadObjectAsync("clean.bin"));
    }
}
