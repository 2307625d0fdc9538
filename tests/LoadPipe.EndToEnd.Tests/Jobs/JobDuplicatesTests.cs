using System.Globalization;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Postgres;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>
/// Duplicates by content (issue 15 part 3, seed 003's pre-upload check), on the default SQLite manifest and on a
/// PostgreSQL one of the test's own: a job whose content was already delivered to its destination, and is still there,
/// completes as a duplicate of the earlier job and sends nothing; once the delivered object is deleted the content is
/// sent again; two jobs of one content queued together run once.
/// </summary>
public sealed class JobDuplicatesTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Worker_SameContentUnderTwoNames_SecondIsADuplicate_UntilTheObjectIsDeleted(string engine)
    {
        using var sandbox = new Sandbox();
        await using var database = engine == "postgres" ? await PostgresDatabase.CreateAsync() : null;
        var manifest = database?.ConnectionString ?? sandbox.Manifest;
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 300_000, seed: 1900);
        File.Copy(sandbox.PathOf("in/a.bin"), sandbox.PathOf("in/b.bin"));
        File.Copy(sandbox.PathOf("in/a.bin"), sandbox.PathOf("in/c.bin"));

        var first = await AddAsync(sandbox, manifest, "in/a.bin", "out/");
        await WorkAsync(sandbox, manifest);
        var second = await AddAsync(sandbox, manifest, "in/b.bin", "out/");
        await WorkAsync(sandbox, manifest);
        var duplicate = await ShowAsync(sandbox, manifest, second);
        var afterDuplicate = Directory.GetFiles(sandbox.PathOf("out")).Select(Path.GetFileName).ToList();
        File.Delete(sandbox.PathOf("out/a.bin"));
        var third = await AddAsync(sandbox, manifest, "in/c.bin", "out/");
        await WorkAsync(sandbox, manifest);
        var rerun = await ShowAsync(sandbox, manifest, third);

        Assert.Equal(["a.bin"], afterDuplicate);
        Assert.Equal(("completed", first), (duplicate.GetProperty("state").GetString(), duplicate.GetProperty("duplicate_of").GetInt64()));
        Assert.Equal(sandbox.PathOf("out/a.bin"), duplicate.GetProperty("delivered").GetString());
        Assert.Contains($"duplicate of job {first}", duplicate.GetProperty("progress").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, Assert.Single(duplicate.GetProperty("attempts").EnumerateArray()).GetProperty("bytes_sent").GetInt64());
        Assert.Equal("completed", rerun.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, rerun.GetProperty("duplicate_of").ValueKind);
        Assert.Equal(300_000, Assert.Single(rerun.GetProperty("attempts").EnumerateArray()).GetProperty("bytes_sent").GetInt64());
        Assert.Equal(["c.bin"], Directory.GetFiles(sandbox.PathOf("out")).Select(Path.GetFileName).ToList());
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(sandbox.PathOf("out/c.bin")));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Workers_TwoJobsOfOneContentQueuedTogether_OneRuns(string engine)
    {
        using var sandbox = new Sandbox();
        await using var database = engine == "postgres" ? await PostgresDatabase.CreateAsync() : null;
        var manifest = database?.ConnectionString ?? sandbox.Manifest;
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/x.bin"), 2 << 20, seed: 1901);
        File.Copy(sandbox.PathOf("in/x.bin"), sandbox.PathOf("in/y.bin"));
        var ids = new[] { await AddAsync(sandbox, manifest, "in/x.bin", "out/"), await AddAsync(sandbox, manifest, "in/y.bin", "out/") };

        // Two workers, each claiming both jobs' worth: whichever claims the content first runs it.
        string[] worker = ["worker", "--exit-when-idle", "--concurrency", "2", "--poll", "100ms", "--manifest", manifest];
        LpResult a, b;
        await using (var one = LpProcess.Start(sandbox, worker))
        await using (var two = LpProcess.Start(sandbox, worker))
        {
            a = await one.WaitAsync();
            b = await two.WaitAsync();
        }
        a.AssertExitCode(0);
        b.AssertExitCode(0);
        var jobs = new List<JsonElement>();
        foreach (var id in ids) jobs.Add(await ShowAsync(sandbox, manifest, id));

        Assert.All(jobs, j => Assert.Equal("completed", j.GetProperty("state").GetString()));
        var ran = Assert.Single(jobs, j => j.GetProperty("duplicate_of").ValueKind == JsonValueKind.Null);
        var skipped = Assert.Single(jobs, j => j.GetProperty("duplicate_of").ValueKind == JsonValueKind.Number);
        Assert.Equal(ran.GetProperty("id").GetInt64(), skipped.GetProperty("duplicate_of").GetInt64());
        var sent = jobs.Sum(j => j.GetProperty("attempts").EnumerateArray().Sum(t => t.GetProperty("bytes_sent").GetInt64()));
        Assert.Equal(2L << 20, sent);
        var delivered = Assert.Single(Directory.GetFiles(sandbox.PathOf("out")));
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(delivered));
    }

    private static async Task<long> AddAsync(Sandbox sandbox, string manifest, string source, string destination) =>
        long.Parse((await LpProcess.RunAsync(sandbox, "jobs", "add", source, destination, "--manifest", manifest)).AssertExitCode(0).Stdout.Trim(), CultureInfo.InvariantCulture);

    private static async Task WorkAsync(Sandbox sandbox, string manifest) =>
        (await LpProcess.RunAsync(sandbox, "worker", "--exit-when-idle", "--poll", "100ms", "--manifest", manifest)).AssertExitCode(0);

    private static async Task<JsonElement> ShowAsync(Sandbox sandbox, string manifest, long id) =>
        Assert.Single((await LpProcess.RunAsync(sandbox, "jobs", "show", id.ToString(CultureInfo.InvariantCulture), "--json", "--manifest", manifest))
            .AssertExitCode(0).JsonLines);
}
