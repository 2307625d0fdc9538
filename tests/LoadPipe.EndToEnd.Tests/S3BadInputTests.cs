using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// Mistakes in an S3 destination, through the CLI: each ends with its exit code and one "error: " line that says
/// what is wrong, never a stack trace and never the secret key.
/// </summary>
public sealed class S3BadInputTests
{
    [Fact]
    public async Task Copy_UnknownBucket_ExitsWith1AndNamesTheBucket()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 10_000, seed: 700);
        var bucket = "no-such-bucket-" + Guid.NewGuid().ToString("N")[..8];

        var run = await sandbox.LpAsync("copy", source, $"{S3Remote.Name}:{bucket}/p/");

        run.AssertExitCode(1);
        Assert.Contains($"'{bucket}'", run.AssertOneErrorLine());
    }

    [Fact]
    public async Task Copy_EndpointNotListening_ExitsWith1WithoutTheSecret()
    {
        using var sandbox = new Sandbox();
        var port = S3rverProcess.FreePort();
        var secret = "e2e-secret-" + Guid.NewGuid().ToString("N");
        S3Remote.Configure(sandbox, endpoint: $"http://127.0.0.1:{port}", secret: secret);
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 10_000, seed: 701);

        var run = await sandbox.LpAsync("copy", source, S3Remote.Folder("p"), "--retries", "1");
        var debug = await sandbox.LpAsync("copy", source, S3Remote.Folder("p"), "--retries", "1", "--debug", "--json");

        run.AssertExitCode(1);
        var error = run.AssertOneErrorLine();
        Assert.Contains($"127.0.0.1:{port}", error);
        Assert.Contains("connection refused", error);
        debug.AssertExitCode(1);
        Assert.DoesNotContain(secret, run.Stdout + run.Stderr + debug.Stdout + debug.Stderr);
    }

    [Fact]
    public async Task Copy_KeyLongerThan1024Bytes_ExitsWithOneClearErrorLine()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var source = sandbox.PathOf("in/data.bin");
        Digest.WriteRandomFile(source, 10_000, seed: 702);
        // 1,100 bytes of UTF-8 in 550 characters: the limit is on bytes, not characters.
        var key = S3Remote.NewPrefix("long") + "/" + new string('é', 550);

        var run = await sandbox.LpAsync("copy", source, $"{S3Remote.Name}:{S3Remote.Bucket}/{key}");

        Assert.True(run.ExitCode is 1 or 2, $"expected exit code 1 or 2\n{run}");
        Assert.Contains("1024", run.AssertOneErrorLine());
    }
}
