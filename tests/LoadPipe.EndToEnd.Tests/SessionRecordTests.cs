using System.Globalization;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>What the manifest keeps of each run and shows: a session's own files after later runs of them
/// (`lp status SESSION`), the projects (`lp projects`) and the config a run used (`lp status SESSION --config`).</summary>
public sealed class SessionRecordTests(FileServer server) : IClassFixture<FileServer>
{
    [Fact]
    public async Task Status_SessionWhoseFailedFileARerunCompleted_StillShowsItsFailure()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("rerun.bin", 3 << 20, seed: 120);
        // The stat passes, the read is cut: the file fails once it has a transfer.
        server.Inject("rerun.bin", Fault.None, Fault.CutAfter(1 << 20));
        var destination = sandbox.PathOf("out/rerun.bin");

        var failed = await sandbox.LpAsync("copy", server.UrlOf("rerun.bin"), destination, "--retries", "0", "--chunk-size", "512K", "--json");
        failed.AssertExitCode(1);
        var rerun = await sandbox.LpAsync("copy", server.UrlOf("rerun.bin"), destination, "--json");
        rerun.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));

        var old = Assert.Single(await ManifestProbe.TransfersAsync(sandbox, failed.Summary.Session));
        Assert.Equal("failed", old.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(old.GetProperty("last_error").GetString()), old.ToString());
        var now = Assert.Single(await ManifestProbe.TransfersAsync(sandbox, rerun.Summary.Session));
        Assert.Equal("completed", now.GetProperty("status").GetString());
        Assert.Equal(content.Length, now.GetProperty("bytes_confirmed").GetInt64());
        Assert.Equal(Digest.Sha256(content), now.GetProperty("sha256").GetString());

        // Nothing is left to retry of the old session: the rerun copied its file.
        var retry = await sandbox.LpAsync("retry", failed.Summary.Session.ToString(CultureInfo.InvariantCulture));
        Assert.Contains("no failed files to retry", retry.Stderr, StringComparison.Ordinal);
        retry.AssertExitCode(0); // nothing of the session remains to be done

        Assert.Equal("failed", Assert.Single(await ManifestProbe.TransfersAsync(sandbox, failed.Summary.Session)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Projects_ThreeRunsInTwoProjects_OneLinePerProjectWithItsTotals()
    {
        using var sandbox = new Sandbox();
        var a = sandbox.PathOf("in/a.bin");
        var b = sandbox.PathOf("in/b.bin");
        Digest.WriteRandomFile(a, 1000, seed: 121);
        Digest.WriteRandomFile(b, 3000, seed: 122);
        (await sandbox.LpAsync("copy", a, sandbox.PathOf("out/birds/"), "--project", "birds")).AssertExitCode(0);
        (await sandbox.LpAsync("copy", b, sandbox.PathOf("out/birds/"), "--project", "birds")).AssertExitCode(0);
        (await sandbox.LpAsync("copy", b, sandbox.PathOf("out/fish/"), "--project", "fish")).AssertExitCode(0);
        (await sandbox.LpAsync("copy", a, sandbox.PathOf("out/none/"))).AssertExitCode(0);
        var sessions = await ManifestProbe.SessionsAsync(sandbox);

        var projects = (await sandbox.LpAsync("projects", "--json")).AssertExitCode(0).JsonLines;

        Assert.Equal(["birds", "fish"], projects.Select(p => p.GetProperty("project").GetString()));
        Assert.Equal((2L, 2L, 4000L), Totals(projects[0]));
        Assert.Equal((1L, 1L, 3000L), Totals(projects[1]));
        // The last run of a project is when its newest session started.
        var newestBirds = sessions.Where(s => s.GetProperty("project").GetString() == "birds").Max(s => DateTimeOffset.Parse(s.GetProperty("started").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(newestBirds, DateTimeOffset.Parse(projects[0].GetProperty("last_run").GetString()!, CultureInfo.InvariantCulture));
        var text = (await sandbox.LpAsync("projects")).AssertExitCode(0);
        Assert.Equal(2, text.StdoutLines.Count);
        Assert.StartsWith("birds", text.StdoutLines[0], StringComparison.Ordinal);

        static (long, long, long) Totals(System.Text.Json.JsonElement p) =>
            (p.GetProperty("sessions").GetInt64(), p.GetProperty("files").GetInt64(), p.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task StatusConfig_RunWithAConfigFile_PrintsItsSnapshotWithTheSecretMasked()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/a.bin");
        Digest.WriteRandomFile(source, 1000, seed: 123);
        var config = sandbox.PathOf("lp.yaml");
        File.WriteAllText(config, """
            remotes:
              vault:
                type: s3
                endpoint: http://127.0.0.1:9
                access_key_id: AKIDEXAMPLE
                secret_access_key: TOPSECRETVALUE
            defaults:
              chunk_size: 1M
            """);
        var copy = await sandbox.LpAsync("copy", source, sandbox.PathOf("out/"), "--config", config, "--json");
        copy.AssertExitCode(0);
        var session = copy.Summary.Session.ToString(CultureInfo.InvariantCulture);

        var shown = (await sandbox.LpAsync("status", session, "--config")).AssertExitCode(0);

        Assert.Contains("chunk_size: 1M", shown.Stdout, StringComparison.Ordinal);
        Assert.Contains("secret_access_key: \"***\"", shown.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("TOPSECRETVALUE", shown.Stdout, StringComparison.Ordinal);
        var json = Assert.Single((await sandbox.LpAsync("status", session, "--config", "--json")).AssertExitCode(0).JsonLines);
        Assert.Equal(shown.Stdout.TrimEnd('\n'), json.GetProperty("config").GetString()!.TrimEnd('\n'));
    }
}
