using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using LoadPipe.Server.Tus;
using static LoadPipe.Server.Tests.Support.TusCalls;

namespace LoadPipe.Server.Tests.Tus;

/// <summary>
/// tus uploads that end other than by a PATCH bringing their last byte are scanned by the real clamd (LP_TEST_CLAMD, with
/// the EICAR signature scripts/test.sh gives it) before their completion, as a last PATCH is: a concatenation's final,
/// a deferred length declared at the offset, and HEAD's completion of an upload whose completion failed. A refused file
/// never appears at its name, not even for the scan's duration (watched with inotify).
/// </summary>
public sealed class TusVirusScanTests
{
    /// <summary>The EICAR anti-virus test file: 68 bytes every scanner flags, harmless.</summary>
    private static readonly byte[] Eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"u8.ToArray();

    private static Task<RunningServer> StartAsync() => RunningServer.StartAsync(configure: s => s with
    {
        Ingest = IngestSettings.From(new IngestConfig(), s.Destination) with { ClamAv = SeedStack.Clamd() },
    });

    [Fact]
    public async Task ConcatenationFinal_EicarSplitAcrossTwoPartials_IsRefusedBeforeItsCompletion()
    {
        await using var server = await StartAsync();
        using var watch = new NamesWatch(server.Destination);
        var first = await CreatedAsync(server.Client, 30, concat: "partial");
        using (var patch = await PatchAsync(server.Client, first, 0, Eicar[..30])) Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        var second = await CreatedAsync(server.Client, Eicar.Length - 30, concat: "partial");
        using (var patch = await PatchAsync(server.Client, second, 0, Eicar[30..])) Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);

        using var final = await CreateAsync(server.Client, null, Metadata(("filename", "eicar.txt")), $"final;{first.AbsolutePath} {second.AbsolutePath}");
        await AssertProblemAsync(final, 422);
        Assert.Null(final.Headers.Location);

        // Never completed: the joined file never stood at its name, and nothing of it (nor of its partials) is left.
        Assert.DoesNotContain("eicar.txt", await watch.SeenAsync());
        Assert.Empty(server.StoredFiles());
        foreach (var partial in new[] { first, second })
        {
            using var head = await HeadAsync(server.Client, partial);
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
    }

    [Fact]
    public async Task ConcatenationFinal_CleanPartials_IsScannedAndStoredWhole()
    {
        await using var server = await StartAsync();
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        var first = await CreatedAsync(server.Client, 100_000, concat: "partial");
        (await PatchAsync(server.Client, first, 0, bytes[..100_000])).Dispose();
        var second = await CreatedAsync(server.Client, 200_000, concat: "partial");
        (await PatchAsync(server.Client, second, 0, bytes[100_000..])).Dispose();

        using var final = await CreateAsync(server.Client, null, Metadata(("filename", "joined.bin")), $"final;{first.AbsolutePath} {second.AbsolutePath}");
        Assert.Equal(HttpStatusCode.Created, final.StatusCode);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, "joined.bin")));
    }

    [Fact]
    public async Task DeferredLength_DeclaredAtTheOffset_IsScannedBeforeItsCompletion()
    {
        await using var server = await StartAsync();
        using var watch = new NamesWatch(server.Destination);
        var upload = await CreatedAsync(server.Client, null, Metadata(("filename", "eicar.txt")));
        using (var patch = await PatchAsync(server.Client, upload, 0, Eicar))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            Assert.Equal(Eicar.Length, Offset(patch));
        }

        // The last PATCH only says how long the upload is: that ends it, and the whole file is judged first.
        using (var last = await PatchAsync(server.Client, upload, Eicar.Length, [], length: Eicar.Length))
            await AssertProblemAsync(last, 422);
        using (var head = await HeadAsync(server.Client, upload)) Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.DoesNotContain("eicar.txt", await watch.SeenAsync());
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task DeferredLength_CleanFileDeclaredAtTheOffset_IsCompleted()
    {
        await using var server = await StartAsync();
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var upload = await CreatedAsync(server.Client, null, Metadata(("filename", "clean.bin")));
        (await PatchAsync(server.Client, upload, 0, bytes)).Dispose();
        using (var last = await PatchAsync(server.Client, upload, bytes.Length, [], length: bytes.Length))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal(bytes.Length, Offset(last));
        }
        using (var head = await HeadAsync(server.Client, upload))
            Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(head, TusHeaders.UploadLength));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, "clean.bin")));
    }

    /// <summary>
    /// The state a completion that failed after its length was declared leaves: every byte recorded, the offset equal
    /// to the length, the upload open (made here by the push entry's own declaration, whose completion cannot commit
    /// while a folder stands at the file's name). HEAD must not report that offset before the file is whole: it
    /// completes the upload first, scanning it as a last PATCH does.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Head_OfAnUploadWhoseCompletionFailed_CompletesAndScansItBeforeReportingTheOffset(bool infected)
    {
        await using var server = await StartAsync();
        var bytes = infected ? Eicar : RandomNumberGenerator.GetBytes(200_000);
        var name = infected ? "eicar.txt" : "doc.bin";
        var upload = await CreatedAsync(server.Client, null, Metadata(("filename", name)));
        (await PatchAsync(server.Client, upload, 0, bytes)).Dispose();

        var target = Path.Combine(server.Destination, name);
        Directory.CreateDirectory(target);
        var uploads = await server.Store.UploadsAsync(default);
        var id = upload.AbsolutePath[TusEndpoints.Prefix.Length..];
        await Assert.ThrowsAnyAsync<Exception>(() => uploads.DeclareLengthAsync(id, bytes.Length));
        var stuck = await uploads.GetAsync(id);
        Assert.Equal((Core.Uploads.UploadStatus.Open, (long?)bytes.Length, (long)bytes.Length), (stuck!.Status, stuck.Length, stuck.Offset));

        // While the completion keeps failing, HEAD answers the failure, never the full offset.
        using (var blocked = await HeadAsync(server.Client, upload))
        {
            Assert.False(blocked.IsSuccessStatusCode, $"HEAD answered {(int)blocked.StatusCode} while the file could not be made");
            Assert.Null(Header(blocked, TusHeaders.UploadOffset));
        }

        Directory.Delete(target);
        using var watch = new NamesWatch(server.Destination);
        using var head = await HeadAsync(server.Client, upload);
        if (infected)
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, head.StatusCode);
            Assert.Null(Header(head, TusHeaders.UploadOffset));
            using (var again = await HeadAsync(server.Client, upload)) Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            Assert.DoesNotContain(name, await watch.SeenAsync());
            Assert.Empty(server.StoredFiles());
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(bytes.Length, Offset(head));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(target));
            Assert.Equal(Core.Uploads.UploadStatus.Completed, (await uploads.GetAsync(id))!.Status);
        }
    }

    /// <summary>The names created in (or renamed into) a folder while it is watched. <see cref="SeenAsync"/> first makes
    /// a file of its own there and waits for its event: inotify reports a folder's events in order, so every event
    /// before it has been seen by then.</summary>
    private sealed class NamesWatch : IDisposable
    {
        private readonly string _folder;
        private readonly FileSystemWatcher _watcher;
        private readonly ConcurrentQueue<string> _seen = new();
        private readonly TaskCompletionSource _marker = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly string _markerName = ".watch-" + Guid.NewGuid().ToString("N");

        public NamesWatch(string folder)
        {
            _folder = folder;
            Directory.CreateDirectory(folder);
            _watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName, InternalBufferSize = 64 << 10 };
            _watcher.Created += (_, e) => Saw(e.Name);
            _watcher.Renamed += (_, e) => Saw(e.Name);
            _watcher.EnableRaisingEvents = true;
        }

        private void Saw(string? name)
        {
            if (name == _markerName) _marker.TrySetResult();
            else if (name is not null) _seen.Enqueue(name);
        }

        public async Task<IReadOnlyList<string>> SeenAsync()
        {
            var marker = Path.Combine(_folder, _markerName);
            await File.WriteAllBytesAsync(marker, []);
            await _marker.Task.WaitAsync(TimeSpan.FromMinutes(1));
            File.Delete(marker);
            return [.. _seen];
        }

        public void Dispose() => _watcher.Dispose();
    }
}
