using System.Net;
using LoadPipe.Core.Uploads;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Ingest.Validation;
using LoadPipe.Server.Tests.Support;
using LoadPipe.Storage.Local;
using Microsoft.Extensions.Time.Testing;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>
/// The session sweeper's second step: what crashed uploads left at a storage element (an object committed whose file
/// record never came, with its sidecar; the partial file of an upload whose creation was never recorded) is removed
/// once older than the safe age, and nothing else: not a recorded file, not a tus upload's object, not a young leftover.
/// The leftovers are made by the push entry's own code, over a manifest the server does not share: the state a process
/// killed before its records reached the server's manifest leaves.
/// </summary>
public sealed class LeftoverSweepTests
{
    [Fact]
    public async Task Sweep_RemovesWhatCrashedUploadsLeftOnceOld_AndNothingElse()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: s => s with
        {
            Ingest = IngestSettings.From(new IngestConfig { UploadSessionCleanupInterval = TimeSpan.FromMinutes(1) }, s.Destination),
        });
        var element = server.Server.Ingest.Elements.Find(IngestDefaults.DefaultElementId)!;
        var kept = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(10_000), "kept.pdf")));
        var tus = await TusCalls.CreatedAsync(server.Client, 1000, TusCalls.Metadata(("filename", "notes.bin")));
        using (var patch = await TusCalls.PatchAsync(server.Client, tus, 0, new byte[1000])) Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);

        var lost = FileNames.StorageFilename("lost.pdf", "ivanov", time.GetUtcNow(), Guid.NewGuid());
        var half = FileNames.StorageFilename("half.pdf", "ivanov", time.GetUtcNow(), Guid.NewGuid());
        var young = FileNames.StorageFilename("young.pdf", "ivanov", time.GetUtcNow(), Guid.NewGuid());
        await using (var crashed = await CrashedProcess.StartAsync())
        {
            await crashed.StoreAsync(Path.Combine(server.Destination, lost), Pdf(5000), whole: true);
            await crashed.StoreAsync(Path.Combine(server.Destination, half), Pdf(5000), whole: false);
            await crashed.StoreAsync(Path.Combine(server.Destination, young), Pdf(5000), whole: true);
        }
        // The saga's attr.json step had run for the lost file before the process died.
        var keptRecord = Assert.Single(await RecordsAsync(server));
        await new Sidecars(element).WriteAsync(keptRecord with { FileId = Guid.NewGuid().ToString("D"), StorageFilename = lost }, default);
        var lostPath = Path.Combine(server.Destination, lost);
        var partialPath = LocalStorage.PartialPath(Path.Combine(server.Destination, half));
        Assert.True(File.Exists(lostPath) && File.Exists(lostPath + Sidecars.Suffix) && File.Exists(partialPath), string.Join(", ", server.StoredFiles()));
        var sweep = TimeSpan.FromHours(25);
        // Left at the moment the clock will show: younger than the safe age when the sweep runs.
        File.SetLastWriteTimeUtc(Path.Combine(server.Destination, young), (time.GetUtcNow() + sweep).UtcDateTime);

        time.Advance(sweep);
        await Poll.UntilAsync(() => Task.FromResult(!File.Exists(lostPath) && !File.Exists(lostPath + Sidecars.Suffix) && !File.Exists(partialPath)),
            () => $"the leftovers are still there: {string.Join(", ", server.StoredFiles())}");

        Assert.Equal(
            new[] { kept.StorageFilename, Sidecars.NameOf(kept.StorageFilename), "notes.bin", young }.Order(StringComparer.Ordinal),
            server.StoredFiles().Where(f => !f.StartsWith('.')).Order(StringComparer.Ordinal));
        using var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{kept.FileId}/content");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
    }

    [Fact]
    public async Task RemovePartial_OfAWriteUnderWay_LeavesIt()
    {
        var root = Directory.CreateTempSubdirectory("lp-partial-");
        try
        {
            var target = Path.Combine(root.FullName, "x_y_20250101T000000_00000000-0000-0000-0000-000000000001.pdf");
            var storage = new LocalStorage();
            await using var session = await storage.BeginWriteAsync(target, new Core.Storage.WriteRequest { ExpectedSize = 10 }, default);
            await session.WriteAsync(new byte[4], default);
            var listed = Assert.Single(await storage.ListPartialsAsync(root.FullName).ToListAsync());
            Assert.Equal(Path.GetFileName(target), listed.Path);

            Assert.False(await storage.RemovePartialAsync(target));
            Assert.True(File.Exists(LocalStorage.PartialPath(target)));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>A process sharing nothing with the server but its folder: its manifest is its own, and goes with it.</summary>
    private sealed class CrashedProcess : IAsyncDisposable
    {
        private readonly DirectoryInfo _root;
        private readonly LoadPipeHost _host;
        private readonly UploadService _uploads;

        private CrashedProcess(DirectoryInfo root, LoadPipeHost host, UploadService uploads) => (_root, _host, _uploads) = (root, host, uploads);

        public static async Task<CrashedProcess> StartAsync()
        {
            var root = Directory.CreateTempSubdirectory("lp-crashed-");
            var config = Path.Combine(root.FullName, "config.yaml");
            await File.WriteAllTextAsync(config, "");
            var host = LoadPipeHost.Create(new LoadPipeHostSettings
            {
                ConfigPath = config, Manifest = Path.Combine(root.FullName, "manifest.db"), Environment = _ => null,
            });
            return new CrashedProcess(root, host, await host.CreateUploadsAsync());
        }

        /// <summary>An upload of <paramref name="bytes"/> to <paramref name="path"/>: completed into the object
        /// (<paramref name="whole"/>), or half of it appended and left open (its partial file).</summary>
        public async Task StoreAsync(string path, byte[] bytes, bool whole)
        {
            var upload = await _uploads.CreateAsync(new NewUpload { Destination = _host.Resolver.Resolve(path), Length = bytes.Length });
            var sent = whole ? bytes : bytes[..(bytes.Length / 2)];
            var appended = await _uploads.AppendAsync(upload.Id, 0, new MemoryStream(sent), AppendOptions.None);
            Assert.Equal(whole ? UploadStatus.Completed : UploadStatus.Open, appended.Status);
        }

        public async ValueTask DisposeAsync()
        {
            await _uploads.DisposeAsync();
            await _host.DisposeAsync();
            _root.Delete(recursive: true);
        }
    }
}
