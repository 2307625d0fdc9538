using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;
using LoadPipe.Google.Tests.YouTube.Support;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.YouTube;
using LoadPipe.Testing.Google.Faults;
using Microsoft.Extensions.Time.Testing;
using static LoadPipe.Google.Tests.YouTube.Support.YouTubeServer;

namespace LoadPipe.Google.Tests.YouTube;

/// <summary>Local files to the YouTube sink through the real engine and a SQLite manifest, against the protocol server.</summary>
public sealed class YouTubeTransferTests(YouTubeServer server) : IClassFixture<YouTubeServer>, IAsyncLifetime
{
    // 2026-11-23 23:00 PST: an hour before the Pacific day ends.
    private static readonly DateTimeOffset LateOnThe23rd = new(2026, 11, 24, 7, 0, 0, TimeSpan.Zero);

    private readonly LocalFolder _dir = new();
    private readonly string _remote = "yt" + Guid.NewGuid().ToString("N")[..8];
    private SqliteManifest? _manifest;

    private SqliteManifest Manifest => _manifest!;

    private YouTubeLedger Ledger => new(Manifest);

    public async Task InitializeAsync() => _manifest = await SqliteManifest.OpenAsync(_dir["state/manifest.db"]);

    public async Task DisposeAsync()
    {
        if (_manifest is not null) await _manifest.DisposeAsync();
        server.Google.YouTube.QuotaExceeded = false;
        server.Google.Faults.Clear();
        _dir.Dispose();
    }

    private static TransferOptions Options(int retries = 3, Dictionary<string, string>? metadata = null) => new()
    {
        ChunkSize = 256 << 10,
        Transfers = 1,
        Retries = retries,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        Metadata = metadata ?? [],
    };

    private YouTubeStorage Sink(TimeProvider? time = null, Dictionary<string, string>? settings = null) => server.Sink(Manifest, _remote, time, settings);

    private Task<TransferSummary> CopyAsync(Location from, YouTubeStorage sink, TransferOptions? options = null, ITransferObserver? observer = null) =>
        new TransferEngine(Manifest).CopyAsync(from, Root(sink), options ?? Options(), observer);

    private static Dictionary<string, string> Meta(string json) =>
        new() { [VideoMetadata.MetadataKey] = VideoMetadata.Parse(json, "test").ToJson() };

    [Fact]
    public async Task Copy_WithMetadata_VideoHasTitleTagsPrivacyAndTheBytes()
    {
        var content = Random(700_000, seed: 11);
        _dir.Write("talk.mp4", content);
        var results = new Results();

        var summary = await CopyAsync(_dir.At("talk.mp4"), Sink(), Options(metadata: Meta("""
            {"snippet":{"title":"My talk","description":"At the meetup","tags":["dotnet","loadpipe"],"categoryId":"28"},"status":{"privacyStatus":"unlisted"}}
            """)), results);

        Assert.Equal(SessionStatus.Completed, summary.Status);
        var video = Assert.Single(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
        Assert.Equal(("My talk", "At the meetup", "28", "unlisted"), (video.Title, video.Description, video.CategoryId, video.PrivacyStatus));
        Assert.Equal(["dotnet", "loadpipe"], video.Tags);
        Assert.Equal(content.Length, video.Size);
        var reported = Assert.Single(results.All);
        Assert.Equal(video.Id, reported.Reports["video_id"]);
        Assert.Equal("https://www.youtube.com/watch?v=" + video.Id, reported.Reports["url"]);
        Assert.Equal(video.Id, (await Ledger.FindUploadAsync("youtube:" + _remote, Md5(content)))!.RemoteId);
    }

    [Fact]
    public async Task Copy_NoMetadata_TitleIsTheFileNameAndPrivate()
    {
        var content = Random(1000, seed: 12);
        _dir.Write("Holiday 2026.final.mov", content);

        var summary = await CopyAsync(_dir.At("Holiday 2026.final.mov"), Sink());

        Assert.Equal(SessionStatus.Completed, summary.Status);
        var video = Assert.Single(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
        Assert.Equal(("Holiday 2026.final", "private"), (video.Title, video.PrivacyStatus));
    }

    [Fact]
    public async Task Copy_InterruptedMidUpload_ResumesTheSessionSendingOnlyTheRest()
    {
        var content = Random(5 * (256 << 10) + 1234, seed: 13);
        _dir.Write("long.mp4", content);
        // The third chunk fails for good on the first run (no retries): two chunks are confirmed.
        server.Google.Faults.FailNext(r => r.Kind == RequestKind.UploadChunk && r.ContentRange?.StartsWith($"bytes {2 * (256 << 10)}-", StringComparison.Ordinal) == true,
            count: 1, status: 503);

        var clock = new FakeTimeProvider(LateOnThe23rd);

        var first = await CopyAsync(_dir.At("long.mp4"), Sink(clock), Options(retries: 0));
        var second = await CopyAsync(_dir.At("long.mp4"), Sink(clock));

        Assert.Equal(SessionStatus.Failed, first.Status);
        Assert.Equal(SessionStatus.Completed, second.Status);
        Assert.Equal(2 * (256 << 10), second.BytesResumed);
        Assert.Equal(content.Length - 2 * (256 << 10), second.BytesSent);
        Assert.Single(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
        Assert.Single(server.Google.UploadSessions, s => s.Api == "youtube" && s.Name == "long");
        // One videos.insert, paid once: continuing the session costs nothing.
        Assert.Equal(1600, await Ledger.GetQuotaSpentAsync("youtube-units:" + _remote, new DateOnly(2026, 11, 23)));
    }

    [Fact]
    public async Task Copy_QuotaForTwoUploads_TwoUploadedThenAClearStopAndTheThirdNotStarted()
    {
        var clock = new FakeTimeProvider(LateOnThe23rd);
        var sink = Sink(clock, new() { ["daily_quota"] = "3200", ["quota_per_upload"] = "1600" });
        for (var i = 0; i < 3; i++) _dir.Write($"batch/v{i}.mp4", Random(1000 + i, seed: 20 + i));
        var before = server.Google.Requests.OfKind(RequestKind.YouTubeUploadStart).Count;

        var summary = await CopyAsync(_dir.At("batch/"), sink);

        Assert.Equal(SessionStatus.Partial, summary.Status);
        Assert.Equal((3, 1), (summary.Files, summary.FilesFailed));
        Assert.Equal(2, server.Google.Requests.OfKind(RequestKind.YouTubeUploadStart).Count - before);
        Assert.Equal("remote '" + _remote + "': daily YouTube quota reached: 3200 of 3200 units spent for 2026-11-23 (Pacific), an upload needs 1600; "
            + "next reset at 2026-11-24 00:00 Pacific (2026-11-24T08:00:00Z)", summary.StopReason);
        var failed = Assert.Single(summary.Failures);
        Assert.Equal(ErrorKind.Quota, failed.ErrorKind);
        Assert.Equal(3200, await Ledger.GetQuotaSpentAsync("youtube-units:" + _remote, new DateOnly(2026, 11, 23)));
        var record = Assert.Single(await Manifest.ListTransfersAsync(summary.Session).ToListAsync(), t => t.Status == TransferStatus.Failed);
        Assert.Contains("daily YouTube quota reached", record.LastError);
    }

    [Fact]
    public async Task Copy_AfterPacificMidnight_TheNextDaysBudgetAllowsTheRest()
    {
        var clock = new FakeTimeProvider(LateOnThe23rd);
        var sink = Sink(clock, new() { ["daily_quota"] = "3200" });
        for (var i = 0; i < 3; i++) _dir.Write($"batch/v{i}.mp4", Random(2000 + i, seed: 30 + i));
        var first = await CopyAsync(_dir.At("batch/"), sink);

        clock.SetUtcNow(new DateTimeOffset(2026, 11, 24, 7, 59, 59, TimeSpan.Zero)); // 23:59:59 PST: still the 23rd
        var stillThe23rd = await CopyAsync(_dir.At("batch/"), sink);
        clock.SetUtcNow(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero)); // 00:00 PST on the 24th
        var the24th = await CopyAsync(_dir.At("batch/"), sink);

        Assert.Equal((2, 1), (first.Files - first.FilesFailed, first.FilesFailed));
        Assert.Equal((2, 1), (stillThe23rd.FilesSkipped, stillThe23rd.FilesFailed));
        Assert.Equal((SessionStatus.Completed, 2, 0), (the24th.Status, the24th.FilesSkipped, the24th.FilesFailed));
        Assert.Equal(3200, await Ledger.GetQuotaSpentAsync("youtube-units:" + _remote, new DateOnly(2026, 11, 23)));
        Assert.Equal(1600, await Ledger.GetQuotaSpentAsync("youtube-units:" + _remote, new DateOnly(2026, 11, 24)));
        Assert.Equal(3, server.Google.YouTube.Videos.Count(v => v.Title.StartsWith('v') && v.Size is >= 2000 and < 2003));
    }

    [Fact]
    public async Task Copy_UploadsMode_CountsUploadsNotUnits()
    {
        var clock = new FakeTimeProvider(LateOnThe23rd);
        var sink = Sink(clock, new() { ["quota_mode"] = "uploads", ["daily_uploads"] = "1" });
        for (var i = 0; i < 2; i++) _dir.Write($"two/u{i}.mp4", Random(3000 + i, seed: 40 + i));

        var summary = await CopyAsync(_dir.At("two/"), sink);

        Assert.Equal((2, 1), (summary.Files, summary.FilesFailed));
        Assert.StartsWith($"remote '{_remote}': daily YouTube upload limit reached: 1 of 1 uploads for 2026-11-23 (Pacific)", summary.StopReason);
        Assert.Equal(1, await Ledger.GetQuotaSpentAsync("youtube-uploads:" + _remote, new DateOnly(2026, 11, 23)));
    }

    [Fact]
    public async Task Copy_ServerSaysQuotaExceeded_RunStopsAndTheLedgerIsFullForTheDay()
    {
        var clock = new FakeTimeProvider(LateOnThe23rd);
        var sink = Sink(clock);
        for (var i = 0; i < 3; i++) _dir.Write($"q/w{i}.mp4", Random(4000 + i, seed: 50 + i));
        server.Google.YouTube.QuotaExceeded = true;
        var before = server.Google.Requests.OfKind(RequestKind.YouTubeUploadStart).Count;

        var summary = await CopyAsync(_dir.At("q/"), sink);

        Assert.Equal((SessionStatus.Failed, 3), (summary.Status, summary.FilesFailed));
        Assert.Equal(1, server.Google.Requests.OfKind(RequestKind.YouTubeUploadStart).Count - before);
        Assert.Contains("Google refused the upload (quotaExceeded)", summary.StopReason);
        Assert.All(summary.Failures, f => Assert.Equal(ErrorKind.Quota, f.ErrorKind));
        Assert.Equal(10_000, await Ledger.GetQuotaSpentAsync("youtube-units:" + _remote, new DateOnly(2026, 11, 23)));
        Assert.DoesNotContain(server.Google.YouTube.Videos, v => v.Title.StartsWith('w') && v.Size is >= 4000 and < 4003);
    }

    [Fact]
    public async Task Copy_SameContentAgain_SkippedWhileTheVideoExistsUploadedAgainAfterItsDeletion()
    {
        var content = Random(5000, seed: 60);
        _dir.Write("a/clip.mp4", content);
        _dir.Write("b/same-clip.mp4", content);
        var clock = new FakeTimeProvider(LateOnThe23rd);
        var first = await CopyAsync(_dir.At("a/clip.mp4"), Sink(clock));
        var original = Assert.Single(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
        var uploadsBefore = server.Google.Requests.OfKind(RequestKind.YouTubeUploadStart).Count;
        var results = new Results();

        var again = await CopyAsync(_dir.At("b/same-clip.mp4"), Sink(clock), observer: results);
        var uploadsAfterSkip = server.Google.Requests.OfKind(RequestKind.YouTubeUploadStart).Count;
        Assert.True(server.Google.YouTube.DeleteVideo(original.Id));
        var afterDelete = await CopyAsync(_dir.At("b/same-clip.mp4"), Sink(clock));

        Assert.Equal(SessionStatus.Completed, first.Status);
        Assert.Equal((1, 0L), (again.FilesSkipped, again.BytesSent));
        Assert.Equal(uploadsBefore, uploadsAfterSkip);
        var skipped = Assert.Single(results.All);
        Assert.Equal(FileOutcome.Skipped, skipped.Outcome);
        Assert.Equal(original.Id, skipped.Reports["video_id"]);
        Assert.Equal((0, content.Length), (afterDelete.FilesSkipped, (int)afterDelete.BytesSent));
        var reuploaded = Assert.Single(server.Google.YouTube.Videos, v => v.Md5 == Md5(content));
        Assert.NotEqual(original.Id, reuploaded.Id);
        Assert.Equal(reuploaded.Id, (await Ledger.FindUploadAsync("youtube:" + _remote, Md5(content)))!.RemoteId);
        // Two uploads of 1600 units, and the two duplicate checks (videos.list) of one unit each.
        Assert.Equal(2 * 1600 + 2, await Ledger.GetQuotaSpentAsync("youtube-units:" + _remote, new DateOnly(2026, 11, 23)));
    }

    [Fact]
    public async Task List_Root_ShowsTheUploadedVideosFromTheHistory()
    {
        var content = Random(6000, seed: 70);
        _dir.Write("listed.mp4", content);
        await CopyAsync(_dir.At("listed.mp4"), Sink());

        var listed = await Sink().ListAsync("", recursive: true).ToListAsync();

        var entry = Assert.Single(listed);
        Assert.Equal(Md5(content), entry.Hashes["md5"]);
        Assert.Equal(content.Length, entry.Size);
        Assert.Equal(entry.Path, entry.Properties["video_id"]);
    }

    private sealed class Results : ITransferObserver
    {
        private readonly List<FileResult> _all = [];

        public IReadOnlyList<FileResult> All
        {
            get { lock (_all) return _all.ToList(); }
        }

        public void FileFinished(FileResult result)
        {
            lock (_all) _all.Add(result);
        }
    }
}
