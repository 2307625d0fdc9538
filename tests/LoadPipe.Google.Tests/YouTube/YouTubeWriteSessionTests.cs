using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Tests.YouTube.Support;
using LoadPipe.Google.Upload;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Testing.Google.Faults;
using static LoadPipe.Google.Tests.YouTube.Support.YouTubeServer;

namespace LoadPipe.Google.Tests.YouTube;

/// <summary>One videos.insert upload written directly through the sink's write session, against the protocol server.</summary>
public sealed class YouTubeWriteSessionTests(YouTubeServer server) : IClassFixture<YouTubeServer>, IAsyncLifetime
{
    private const int Granule = ResumableUploadClient.ChunkAlignment;

    private readonly LocalFolder _dir = new();
    private readonly string _remote = "yt" + Guid.NewGuid().ToString("N")[..8];
    private SqliteManifest? _manifest;

    public async Task InitializeAsync() => _manifest = await SqliteManifest.OpenAsync(_dir["state/manifest.db"]);

    public async Task DisposeAsync()
    {
        if (_manifest is not null) await _manifest.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task WriteFinalAsync_MoreBytesThanAnnounced_RefusedBeforeTheyAreSent()
    {
        var content = Random(Granule + 10, seed: 80);
        var sink = server.Sink(_manifest!, _remote);
        await using var session = await sink.BeginWriteAsync("grown.mp4", new WriteRequest { ExpectedSize = Granule });
        await session.WriteAsync(content.AsMemory(0, Granule));

        var e = await Assert.ThrowsAsync<SourceChangedException>(() => session.WriteFinalAsync(content.AsMemory(Granule)));

        Assert.Contains($"more bytes ({Granule + 10}) than the {Granule} the source had when the upload started", e.Message, StringComparison.Ordinal);
        Assert.Equal(Granule, server.Google.Requests.UploadBytesFor("grown"));
        Assert.DoesNotContain(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
    }

    [Fact]
    public async Task ResumeWriteAsync_StateSavedBeforeTheSharedRecord_StillResumes()
    {
        var content = Random(2 * Granule + 5, seed: 81);
        var sink = server.Sink(_manifest!, _remote);
        string saved;
        await using (var first = await sink.BeginWriteAsync("kept.mp4", new WriteRequest { ExpectedSize = content.Length }))
        {
            await first.WriteAsync(content.AsMemory(0, Granule));
            // The shape YouTubeResumeState wrote: {"session":...,"path":...,"total":...}.
            saved = first.ResumeState!;
        }
        var session = ResumableUploadState.TryParse(saved)!.Session;
        var old = $$"""{"session":"{{session}}","path":"kept.mp4","total":{{content.Length}}}""";

        await using var resumed = await sink.ResumeWriteAsync("kept.mp4", old, Granule, new WriteRequest { ExpectedSize = content.Length });
        await resumed!.WriteAsync(content.AsMemory(Granule, Granule));
        await resumed.WriteFinalAsync(content.AsMemory(2 * Granule));
        var committed = await resumed.CommitAsync();

        var video = Assert.Single(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
        Assert.Equal(video.Id, committed.Properties["video_id"]);
    }
}
