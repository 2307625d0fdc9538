using System.Globalization;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Testing.Google;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>A job whose destination's quota is spent waits for the quota's reset, without using up an attempt, and so
/// do the other jobs for that destination; jobs for other destinations go on.</summary>
public sealed class JobQuotaTests
{
    [Fact]
    public async Task Worker_YouTubeQuotaForOneUpload_SecondVideoWaitsForTheReset_OtherJobsGoOn()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        var key = sandbox.PathOf(".config/loadpipe/service-account.json");
        File.WriteAllText(key, google.CreateServiceAccount("lp-e2e@loadpipe-fake.iam.gserviceaccount.com",
            ["https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube.readonly"]));
        File.WriteAllText(sandbox.PathOf(".config/loadpipe/config.yaml"), $"""
            remotes:
              yt:
                type: youtube
                service_account_file: {key}
                token_url: {google.TokenUri}
                api_url: {google.YouTubeApiUri}
                upload_url: {google.YouTubeUploadUri}
                daily_quota: 1600

            """);
        for (var i = 0; i < 3; i++) Digest.WriteRandomFile(sandbox.PathOf($"in/v{i}.mp4"), 3000 + i, seed: 1800 + i);
        var local = Digest.WriteRandomFile(sandbox.PathOf("in/notes.txt"), 5000, seed: 1810);
        var first = await AddAsync(sandbox, "in/v0.mp4", "yt:", "3");
        var second = await AddAsync(sandbox, "in/v1.mp4", "yt:", "2");
        var third = await AddAsync(sandbox, "in/v2.mp4", "yt:", "1");
        var other = await AddAsync(sandbox, "in/notes.txt", "out/", "0");

        (await sandbox.LpAsync("worker", "--exit-when-idle")).AssertExitCode(0);
        var jobs = (await sandbox.LpAsync("jobs", "list", "--json")).AssertExitCode(0).JsonLines.ToDictionary(j => j.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture));
        var waiting = Assert.Single((await sandbox.LpAsync("jobs", "show", second, "--json")).AssertExitCode(0).JsonLines);

        Assert.Single(google.YouTube.Videos);
        Assert.Equal("completed", jobs[first].GetProperty("state").GetString());
        Assert.Equal("completed", jobs[other].GetProperty("state").GetString());
        Assert.Equal(Digest.Sha256(local), Digest.Sha256OfFile(sandbox.PathOf("out/notes.txt")));
        foreach (var id in new[] { second, third })
        {
            Assert.Equal(("pending", "quota wait", 0), (jobs[id].GetProperty("state").GetString(), jobs[id].GetProperty("phase").GetString(), jobs[id].GetProperty("attempt").GetInt32()));
            var resetAt = DateTimeOffset.Parse(jobs[id].GetProperty("run_after").GetString()!, CultureInfo.InvariantCulture);
            Assert.True(resetAt > DateTimeOffset.UtcNow && resetAt <= DateTimeOffset.UtcNow.AddHours(25), $"job {id} waits until {resetAt:O}");
            Assert.Equal(0, resetAt.UtcDateTime.Minute);
        }
        Assert.Contains("daily YouTube quota reached", Assert.Single(waiting.GetProperty("attempts").EnumerateArray()).GetProperty("error").GetString(), StringComparison.Ordinal);
        // The third video never ran: the second's quota wait held back every job for that remote.
        Assert.Empty(Assert.Single((await sandbox.LpAsync("jobs", "show", third, "--json")).JsonLines).GetProperty("attempts").EnumerateArray());
    }

    private static async Task<string> AddAsync(Sandbox sandbox, string source, string destination, string priority) =>
        (await sandbox.LpAsync("jobs", "add", source, destination, "--priority", priority)).AssertExitCode(0).Stdout.Trim();
}
