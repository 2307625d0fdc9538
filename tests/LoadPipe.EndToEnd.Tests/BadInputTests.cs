using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// Mistakes and hostile conditions: each ends with its exit code (1 failed, 2 usage or config), a one-line
/// "error: " message and no stack trace, and never leaves anything under the final destination name.
/// </summary>
public sealed class BadInputTests
{
    private const string SmallDiskVariable = "LP_TEST_SMALL_DISK";

    [Fact]
    public async Task Copy_MissingSourceFile_ExitsWith1AndOneErrorLine()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/nothing-here.bin");
        var destination = sandbox.PathOf("out/copy.bin");

        var run = await sandbox.LpAsync("copy", source, destination);

        run.AssertExitCode(1);
        var error = run.AssertOneErrorLine();
        Assert.Contains("nothing-here.bin", error);
        AssertNothingAt(destination);
    }

    [Theory]
    [InlineData("http://")]
    [InlineData("https://:80/x")]
    public async Task Copy_MalformedUrl_ExitsWith2AndOneErrorLine(string url)
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/copy.bin");

        var run = await sandbox.LpAsync("copy", url, destination);

        run.AssertExitCode(2);
        Assert.Contains(url, run.AssertOneErrorLine());
        AssertNothingAt(destination);
    }

    [Theory]
    [InlineData("bad-indent.yaml", "jobs:\n  - name: a\n    source: /tmp/a\n   destination: /tmp/b\n", 4)]
    [InlineData("bad-quote.yaml", "defaults:\n  chunk_size: 1M\njobs:\n  - name: a\n    source: \"/tmp/a\n    destination: /tmp/b\n", 5)]
    [InlineData("bad-value.yaml", "defaults:\n  transfers: 2\n  chunk_size: 8Q\n", 3)]
    [InlineData("unclosed-list.yaml", "defaults:\n  process: [zstd, gzip\n  chunk_size: 1M\n", 2)]
    public async Task Sync_BadYamlConfig_ExitsWith2AndNamesTheLine(string name, string yaml, int line)
    {
        using var sandbox = new Sandbox();
        var config = sandbox.PathOf(name);
        File.WriteAllText(config, yaml);

        var run = await sandbox.LpAsync("sync", "--config", config);

        run.AssertExitCode(2);
        var error = run.AssertOneErrorLine();
        Assert.Matches($@"\b{System.Text.RegularExpressions.Regex.Escape(name)}:{line}\b", error);
    }

    [Fact]
    public async Task Copy_UnknownStage_ExitsWith2AndOneErrorLine()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 1 << 20, seed: 30);
        var destination = sandbox.PathOf("out/data.bin");

        var run = await sandbox.LpAsync("copy", source, destination, "--process", "zstd", "--process", "rot13");

        run.AssertExitCode(2);
        Assert.Contains("rot13", run.AssertOneErrorLine());
        AssertNothingAt(destination);
    }

    [Fact]
    public async Task Copy_BadChunkSize_ExitsWith2AndOneErrorLine()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 1 << 20, seed: 31);
        var destination = sandbox.PathOf("out/data.bin");

        var run = await sandbox.LpAsync("copy", source, destination, "--chunk-size", "8Q");

        run.AssertExitCode(2);
        Assert.Contains("8Q", run.AssertOneErrorLine());
        AssertNothingAt(destination);
    }

    [Fact]
    public async Task Copy_DestinationUnderARegularFile_ExitsWith1WithoutFinalFile()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 1 << 20, seed: 32);
        var blocker = sandbox.PathOf("out/somefile");
        File.WriteAllText(blocker, "a file where a folder should be");
        var destination = Path.Combine(blocker, "data.bin");

        // --retries 0: the failure is retried as if transient otherwise (see the skipped test below).
        var run = await sandbox.LpAsync("copy", source, destination, "--retries", "0", "--json");

        run.AssertExitCode(1);
        run.AssertNoStackTrace();
        Assert.Equal("failed", run.Summary.Status);
        Assert.Contains(blocker, Assert.Single(run.Summary.Errors));
        Assert.Equal("a file where a folder should be", File.ReadAllText(blocker));
    }

    [Fact]
    public async Task Copy_DestinationUnderARegularFile_FailsWithoutRetrying()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 1 << 20, seed: 33);
        var blocker = sandbox.PathOf("out/somefile");
        File.WriteAllText(blocker, "");

        var run = await sandbox.LpAsync("copy", source, Path.Combine(blocker, "data.bin"));

        run.AssertExitCode(1);
        Assert.DoesNotContain(run.StderrLines, l => l.Contains("Try 1 failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Copy_OnlyFileFails_PrintsOneErrorLine()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 1 << 20, seed: 34);
        var blocker = sandbox.PathOf("out/somefile");
        File.WriteAllText(blocker, "");

        var run = await sandbox.LpAsync("copy", source, Path.Combine(blocker, "data.bin"), "--retries", "0");

        run.AssertExitCode(1);
        var error = run.AssertOneErrorLine();
        Assert.Single(run.StderrLines, l => l.Contains(blocker, StringComparison.Ordinal));
        Assert.Contains(blocker, error);
    }

    [Fact]
    public async Task Copy_DestinationDiskFills_ExitsWith1AndNoFinalFile()
    {
        var smallDisk = Environment.GetEnvironmentVariable(SmallDiskVariable);
        Assert.False(string.IsNullOrEmpty(smallDisk),
            $"{SmallDiskVariable} is not set: run the tests with scripts/test.sh, which mounts a 4 MiB tmpfs for this test "
            + $"(or: mkdir -p /tmp/small && mount -t tmpfs -o size=4m tmpfs /tmp/small && export {SmallDiskVariable}=/tmp/small)");
        Assert.True(Directory.Exists(smallDisk), $"{SmallDiskVariable}={smallDisk} is not a folder");
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 8 << 20, seed: 35);
        var folder = Directory.CreateDirectory(Path.Combine(smallDisk, "lp-e2e-" + Guid.NewGuid().ToString("N")));
        try
        {
            var destination = Path.Combine(folder.FullName, "data.bin");

            var run = await sandbox.LpAsync("copy", source, destination, "--json");

            run.AssertExitCode(1);
            run.AssertNoStackTrace();
            Assert.Equal("failed", run.Summary.Status);
            Assert.Contains("no space", Assert.Single(run.Summary.Errors), StringComparison.OrdinalIgnoreCase);
            Assert.Contains(run.StderrLines, l => l.Contains("no space", StringComparison.OrdinalIgnoreCase));
            Assert.False(File.Exists(destination), "a file under the final name on a full disk");
        }
        finally
        {
            // The partial file lp keeps for a resume would leave the shared small disk full.
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Copy_ExecStageThatStopsReading_FailsOnceSayingTheStageStoppedReading()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 20_000_000, seed: 36);
        var destination = sandbox.PathOf("out/data.bin");

        var run = await sandbox.LpAsync("copy", source, destination, "--process", "exec:head -c 10");

        run.AssertExitCode(1);
        var error = run.AssertOneErrorLine();
        Assert.Contains("stopped reading its input", error);
        Assert.DoesNotContain("source said", run.Stderr);
        Assert.DoesNotContain(run.StderrLines, l => l.Contains("again from zero", StringComparison.Ordinal));
        Assert.False(File.Exists(destination));
    }

    [Fact]
    public async Task Copy_TransfersNotANumber_ExitsWith2SayingAWholeNumber()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 1 << 20, seed: 37);

        var run = await sandbox.LpAsync("copy", source, sandbox.PathOf("out/data.bin"), "--transfers", "abc");

        run.AssertExitCode(2);
        var error = run.AssertOneErrorLine();
        Assert.Contains("--transfers 'abc': expected a whole number", error);
        Assert.DoesNotContain("System.", error);
    }

    [Fact]
    public async Task Copy_ManifestDiskFillsMidRun_PrintsOneErrorLineAndEndsWithTheJsonLine()
    {
        var smallDisk = SmallDisk();
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 16 << 20, seed: 38);
        var folder = Directory.CreateDirectory(Path.Combine(smallDisk, "lp-e2e-" + Guid.NewGuid().ToString("N")));
        try
        {
            var manifest = Path.Combine(folder.FullName, "manifest.db");
            (await LpProcess.RunAsync(sandbox, "status", "--manifest", manifest)).AssertExitCode(0);
            // The disk filled up to 256 KiB: room for the session, not for a chunk record each 64 KiB of 16 MiB.
            var filler = Path.Combine(folder.FullName, "filler");
            await using (var fill = File.Create(filler))
            {
                var block = new byte[64 << 10];
                try
                {
                    while (true) await fill.WriteAsync(block);
                }
                catch (IOException)
                {
                }
            }
            await using (var shrink = new FileStream(filler, FileMode.Open)) shrink.SetLength(Math.Max(0, shrink.Length - (256 << 10)));

            var run = await LpProcess.RunAsync(sandbox, "copy", source, sandbox.PathOf("out/data.bin"), "--chunk-size", "64K", "--json", "--manifest", manifest);

            run.AssertExitCode(1);
            var error = run.AssertOneErrorLine();
            Assert.Contains("manifest", error);
            Assert.Contains("full", error);
            Assert.DoesNotContain(run.StderrLines, l => l.Contains("SqliteException", StringComparison.Ordinal));
            Assert.Equal("failed", run.Summary.Status);
            Assert.Contains("full", run.Summary.Error);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string SmallDisk()
    {
        var smallDisk = Environment.GetEnvironmentVariable(SmallDiskVariable);
        Assert.False(string.IsNullOrEmpty(smallDisk),
            $"{SmallDiskVariable} is not set: run the tests with scripts/test.sh, which mounts a 4 MiB tmpfs for this test "
            + $"(or: mkdir -p /tmp/small && mount -t tmpfs -o size=4m tmpfs /tmp/small && export {SmallDiskVariable}=/tmp/small)");
        Assert.True(Directory.Exists(smallDisk), $"{SmallDiskVariable}={smallDisk} is not a folder");
        return smallDisk;
    }

    private static void AssertNothingAt(string destination)
    {
        Assert.False(File.Exists(destination), $"{destination} exists");
        Assert.False(File.Exists(Sandbox.PartialOf(destination)), $"a partial file for {destination} exists");
    }
}
