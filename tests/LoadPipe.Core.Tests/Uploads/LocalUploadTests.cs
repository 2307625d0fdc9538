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
    public async Task Append_WholeFileCheckRefused_LeavesTheUploadOpen_AndALaterCompletionMakesTheFileWhole()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(300_000);
        var target = Destination("retried.bin");
        var upload = await uploads.CreateAsync(new Core.Uploads.NewUpload { Destination = Resolver.Resolve(target), Length = data.Length });
        await uploads.AppendAsync(upload.Id, 0, new MemoryStream(data[..100_000]), Core.Uploads.AppendOptions.None);
        var refusing = new Core.Uploads.AppendOptions { CheckWhole = (_, _) => throw new InvalidDataException("clamd away") };
        await Assert.ThrowsAsync<InvalidDataException>(() => uploads.AppendAsync(upload.Id, 100_000, new MemoryStream(data[100_000..]), refusing));

        // Every byte is recorded, the completion is not (what tus's HEAD then finishes before it reports the offset).
        var open = await uploads.GetAsync(upload.Id);
        Assert.Equal(Core.Uploads.UploadStatus.Open, open!.Status);
        Assert.False(File.Exists(target));
        var done = await uploads.CompleteAsync(upload.Id);

        Assert.Equal(Core.Uploads.UploadStatus.Completed, done.Status);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), done.Sha256);
        Assert.Equal(data, await File.ReadAllBytesAsync(target));
    }

    [Fact]
    public async Task Complete_CommitDoneButNotRecorded_AdoptsTheObjectWhenItHoldsTheUploadsBytes()
    {
        // The state a process killed between the rename of the partial file and the record of the completion leaves:
        // every byte recorded, the upload open, the object in place and no partial file.
        var uploads = await OpenServiceAsync();
        var data = Bytes(20_000);
        var target = Destination("adopted.bin");
        var upload = await uploads.CreateAsync(new Core.Uploads.NewUpload { Destination = Resolver.Resolve(target) });
        await uploads.AppendAsync(upload.Id, 0, new MemoryStream(data), Core.Uploads.AppendOptions.None);
        File.Move(LocalStorage.PartialPath(target), target);

        var done = await uploads.DeclareLengthAsync(upload.Id, data.Length);

        Assert.Equal(Core.Uploads.UploadStatus.Completed, done.Status);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), done.Sha256);
        Assert.Equal(data, await File.ReadAllBytesAsync(target));
    }

    [Fact]
    public async Task Complete_SessionGoneAndTheObjectDiffers_FailsAndLeavesTheUploadOpen()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(20_000);
        var target = Destination("replaced.bin");
        var upload = await uploads.CreateAsync(new Core.Uploads.NewUpload { Destination = Resolver.Resolve(target) });
        await uploads.AppendAsync(upload.Id, 0, new MemoryStream(data), Core.Uploads.AppendOptions.None);
        File.Delete(LocalStorage.PartialPath(target));
        var other = Bytes(20_000, seed: 2);
        await File.WriteAllBytesAsync(target, other);

        var e = await Assert.ThrowsAnyAsync<Core.Errors.LoadPipeException>(() => uploads.DeclareLengthAsync(upload.Id, data.Length));

        Assert.Equal(Core.Errors.ErrorKind.ResumeMismatch, e.Kind);
        Assert.Equal(Core.Uploads.UploadStatus.Open, (await uploads.GetAsync(upload.Id))!.Status);
        Assert.Equal(other, await File.ReadAllBytesAsync(target));
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
