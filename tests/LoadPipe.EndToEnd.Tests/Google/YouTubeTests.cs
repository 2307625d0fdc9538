using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Testing.Google;

namespace LoadPipe.EndToEnd.Tests.Google;

/// <summary>
/// Seed 003's Drive -> YouTube path with `lp` as a real process: the Google protocol server serves both the Drive
/// folder and the channel; both remotes sign in with one service account key file from the server.
/// </summary>
public sealed class YouTubeTests
{
    private static readonly string[] Scopes =
        ["https://www.googleapis.com/auth/drive", "https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube.readonly"];

    [Fact]
    public async Task Copy_DriveVideoToYouTubeWithMeta_PrintsTheVideoAndARerunSkipsTheDuplicate()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        var content = RandomBytes(3 * (256 << 10) + 777, seed: 1);
        google.Drive.PutFile(google.Drive.CreateFolders("Videos"), "talk.mp4", content);
        File.WriteAllText(sandbox.PathOf("talk.json"), """
            {"snippet":{"title":"Seed 003 talk","description":"From Drive","tags":["seed","drive"],"categoryId":"27"},"status":{"privacyStatus":"unlisted"}}
            """);

        var first = (await sandbox.LpAsync("copy", "gdrive:Videos/talk.mp4", "yt:", "--meta", "talk.json", "--chunk-size", "256K", "--json")).AssertExitCode(0);
        var again = (await sandbox.LpAsync("copy", "gdrive:Videos/talk.mp4", "yt:", "--meta", "talk.json", "--json")).AssertExitCode(0);
        var listed = (await sandbox.LpAsync("list", "yt:", "--json")).AssertExitCode(0);

        var video = Assert.Single(google.YouTube.Videos);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), video.Md5);
        Assert.Equal(("Seed 003 talk", "From Drive", "27", "unlisted"), (video.Title, video.Description, video.CategoryId, video.PrivacyStatus));
        Assert.Equal(["seed", "drive"], video.Tags);
        var report = Assert.Single(Single(first).GetProperty("reports").EnumerateArray());
        Assert.Equal(video.Id, report.GetProperty("video_id").GetString());
        Assert.Equal("https://www.youtube.com/watch?v=" + video.Id, report.GetProperty("url").GetString());
        Assert.Equal("copied", report.GetProperty("outcome").GetString());
        Assert.Equal((1, 0L), (again.Summary.FilesSkipped, again.Summary.BytesSent));
        var skipped = Assert.Single(Single(again).GetProperty("reports").EnumerateArray());
        Assert.Equal(("skipped", video.Id), (skipped.GetProperty("outcome").GetString(), skipped.GetProperty("video_id").GetString()));
        var entry = Assert.Single(listed.JsonLines);
        Assert.Equal((video.Id, video.Md5), (entry.GetProperty("path").GetString(), entry.GetProperty("hashes").GetProperty("md5").GetString()));
    }

    [Fact]
    public async Task Copy_HumanOutput_PrintsTheVideoIdAndUrl()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        google.Drive.PutFile(google.Drive.CreateFolders("Videos"), "demo.mp4", RandomBytes(1000, seed: 2));

        var run = (await sandbox.LpAsync("copy", "gdrive:Videos/demo.mp4", "yt:", "--title", "Demo", "--tags", "a,b")).AssertExitCode(0);

        var video = Assert.Single(google.YouTube.Videos);
        Assert.Equal(("Demo", "private"), (video.Title, video.PrivacyStatus));
        Assert.Contains($"video_id={video.Id} url=https://www.youtube.com/watch?v={video.Id}", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copy_QuotaForOneUpload_StopsWithAClearMessageAndExitThree()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google, quota: "daily_quota: 1600");
        var folder = google.Drive.CreateFolders("Batch");
        for (var i = 0; i < 3; i++) google.Drive.PutFile(folder, $"part{i}.mp4", RandomBytes(2000 + i, seed: 10 + i));

        var run = await sandbox.LpAsync("copy", "gdrive:Batch/", "yt:", "--transfers", "1", "--json");
        var retry = await sandbox.LpAsync("copy", "gdrive:Batch/", "yt:");

        run.AssertExitCode(3);
        Assert.Single(google.YouTube.Videos);
        Assert.Equal((3, 2), (run.Summary.Files, run.Summary.FilesFailed));
        var stopped = Single(run).GetProperty("stopped").GetString()!;
        Assert.Matches(@"^remote 'yt': daily YouTube quota reached: 1600 of 1600 units spent for \d{4}-\d\d-\d\d \(Pacific\), an upload needs 1600; next reset at \d{4}-\d\d-\d\d 00:00 Pacific \(\d{4}-\d\d-\d\dT0[78]:00:00Z\)$", stopped);
        retry.AssertExitCode(3);
        Assert.Contains("stopped: remote 'yt': daily YouTube quota reached: 1600 of 1600 units spent", retry.Stderr, StringComparison.Ordinal);
        Assert.Single(google.YouTube.Videos);
    }

    [Fact]
    public async Task Copy_BadMetaFile_UsageErrorBeforeAnyUpload()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        google.Drive.PutFile(google.Drive.CreateFolders("Videos"), "x.mp4", RandomBytes(10, seed: 3));
        File.WriteAllText(sandbox.PathOf("bad.json"), """{"snippet":{"title":"ok"},"status":{"privacyStatus":"friends"}}""");

        var run = (await sandbox.LpAsync("copy", "gdrive:Videos/x.mp4", "yt:", "--meta", "bad.json")).AssertExitCode(2);

        Assert.Equal("error: --meta bad.json: status.privacyStatus 'friends' must be private, unlisted or public", run.AssertOneErrorLine());
        Assert.Empty(google.YouTube.Videos);
    }

    private static JsonElement Single(LpResult result) => Assert.Single(result.JsonLines);

    private static void Configure(Sandbox sandbox, GoogleProtocolServer google, string quota = "")
    {
        var key = sandbox.PathOf(".config/loadpipe/service-account.json");
        File.WriteAllText(key, google.CreateServiceAccount("lp-e2e@loadpipe-fake.iam.gserviceaccount.com", Scopes));
        File.WriteAllText(sandbox.PathOf(".config/loadpipe/config.yaml"), $"""
            remotes:
              gdrive:
                type: gdrive
                service_account_file: {key}
                token_url: {google.TokenUri}
                api_url: {google.DriveApiUri}
                upload_url: {google.DriveUploadUri}
              yt:
                type: youtube
                service_account_file: {key}
                token_url: {google.TokenUri}
                api_url: {google.YouTubeApiUri}
                upload_url: {google.YouTubeUploadUri}
                {quota}

            """);
    }

    private static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
