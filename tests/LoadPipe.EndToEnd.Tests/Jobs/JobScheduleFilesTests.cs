using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Postgres;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>
/// A schedule on a folder queues one job per new file (seed 003's FolderUploadService and its TARGET_FOLDER_ID flow),
/// on SQLite and on PostgreSQL: three files, three jobs; a fourth file, one more job at a later tick; ticks scanned
/// again and again by two workers queue nothing more.
/// </summary>
public sealed class JobScheduleFilesTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Schedule_FolderOfThreeFiles_ThreeJobs_ANewFileOneMore_TwoWorkersTickingQueueNothingMore(string engine)
    {
        using var sandbox = new Sandbox();
        await using var database = engine == "postgres" ? await PostgresDatabase.CreateAsync() : null;
        var manifest = database?.ConnectionString ?? sandbox.Manifest;
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < 3; i++) files[$"f{i}.bin"] = Digest.WriteRandomFile(sandbox.PathOf($"in/f{i}.bin"), 10_000 + i, seed: 1960 + i);
        // Every second, so that the two workers see many ticks.
        (await LpProcess.RunAsync(sandbox, "schedules", "add", "scan", "--cron", "* * * * * *", "in/", "out/", "--manifest", manifest)).AssertExitCode(0);
        string[] worker = ["worker", "--poll", "100ms", "--manifest", manifest];

        await using (var one = LpProcess.Start(sandbox, worker))
        await using (var two = LpProcess.Start(sandbox, worker))
        {
            Func<bool> exited = () => one.HasExited || two.HasExited;
            var first = await Eventually.ValueAsync(() => CompletedAsync(sandbox, manifest), j => j.Count >= 3, TimeSpan.FromMinutes(1), j => $"{j.Count} jobs completed", exited);
            files["sub/g.bin"] = Digest.WriteRandomFile(sandbox.PathOf("in/sub/g.bin"), 5_000, seed: 1964);
            var second = await Eventually.ValueAsync(() => CompletedAsync(sandbox, manifest), j => j.Count >= 4, TimeSpan.FromMinutes(1), j => $"{j.Count} jobs completed", exited);
            // Three more ticks after the fourth job: each scanned the folder again.
            var tickAfter = await LastTickAsync(sandbox, manifest);
            await Eventually.ValueAsync(() => LastTickAsync(sandbox, manifest), t => t >= tickAfter.AddSeconds(3), TimeSpan.FromMinutes(1), t => $"last tick {t:O}", exited);
            var now = (await LpProcess.RunAsync(sandbox, "schedules", "run", "scan", "--now", "--manifest", manifest)).AssertExitCode(0);
            var all = (await LpProcess.RunAsync(sandbox, "jobs", "list", "--json", "--manifest", manifest)).AssertExitCode(0).JsonLines;
            await one.TerminateAsync();
            await two.TerminateAsync();
            (await one.WaitAsync()).AssertExitCode(0);
            (await two.WaitAsync()).AssertExitCode(0);

            Assert.Equal(3, first.Count);
            Assert.Equal(4, second.Count);
            Assert.Empty(now.StdoutLines);
            Assert.Contains("nothing new", now.Stderr, StringComparison.Ordinal);
            Assert.Equal(4, all.Count);
            Assert.All(all, j => Assert.Equal(("completed", "scan"), (j.GetProperty("state").GetString(), j.GetProperty("schedule").GetString())));
            Assert.Equal(files.Keys.Select(k => sandbox.PathOf("in/" + k)).Order(), all.Select(j => j.GetProperty("source").GetString()!).Order());
        }
        foreach (var (name, bytes) in files) Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(sandbox.PathOf("out/" + name)));
    }

    private static async Task<List<JsonElement>> CompletedAsync(Sandbox sandbox, string manifest) =>
        [.. (await LpProcess.RunAsync(sandbox, "jobs", "list", "--state", "completed", "--json", "--manifest", manifest)).AssertExitCode(0).JsonLines];

    private static async Task<DateTimeOffset> LastTickAsync(Sandbox sandbox, string manifest)
    {
        var schedule = Assert.Single((await LpProcess.RunAsync(sandbox, "schedules", "list", "--json", "--manifest", manifest)).AssertExitCode(0).JsonLines);
        return schedule.GetProperty("last_tick").ValueKind == JsonValueKind.String
            ? DateTimeOffset.Parse(schedule.GetProperty("last_tick").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            : DateTimeOffset.MinValue;
    }
}
