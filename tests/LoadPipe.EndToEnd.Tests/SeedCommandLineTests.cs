using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>Seed 000's own command lines (`lp list --folder SRC`, `lp pull --file FILE_ID`,
/// `lp push --folder DST --name out.jsonl`) run as written, as the positional forms do.</summary>
public sealed class SeedCommandLineTests
{
    [Fact]
    public async Task ListFolderFlag_SameLinesAsThePositionalForm()
    {
        using var sandbox = new Sandbox();
        Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 1000, seed: 130);
        Digest.WriteRandomFile(sandbox.PathOf("in/b.bin"), 2000, seed: 131);
        var folder = Path.Combine(sandbox.Root, "in");

        var flag = (await sandbox.LpAsync("list", "--folder", folder)).AssertExitCode(0);
        var positional = (await sandbox.LpAsync("list", folder)).AssertExitCode(0);

        Assert.Equal(2, flag.StdoutLines.Count);
        Assert.Equal(positional.StdoutLines, flag.StdoutLines);
    }

    [Fact]
    public async Task PullFileFlagIntoPushFolderAndName_StoresIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/events.jsonl");
        var content = Digest.WriteRandomFile(source, 3 << 20, seed: 132);
        var folder = Path.Combine(sandbox.Root, "out");
        Directory.CreateDirectory(folder);

        // lp pull --file FILE_ID | lp push --folder DST --name out.jsonl
        await using var push = LpProcess.Start(sandbox, ["push", "--folder", folder, "--name", "out.jsonl", "--manifest", sandbox.Manifest], redirectStdin: true);
        await using var pull = LpProcess.Start(sandbox, ["pull", "--file", source, "--manifest", sandbox.Manifest], stdout: push.StandardInput);
        (await pull.WaitAsync()).AssertExitCode(0);
        (await push.WaitAsync()).AssertExitCode(0);

        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(Path.Combine(folder, "out.jsonl")));
    }

    [Theory]
    [InlineData("list", "IN", "--folder", "IN")]
    [InlineData("pull", "IN/a.bin", "--file", "IN/a.bin")]
    [InlineData("push", "OUT/x.bin", "--folder", "OUT", "--name", "x.bin")]
    [InlineData("push", "--name", "x.bin")]
    [InlineData("push", "--folder", "OUT")]
    [InlineData("list")]
    public async Task BothFormsOrAHalfOfOne_ExitsWith2AndOneErrorLine(params string[] args)
    {
        using var sandbox = new Sandbox();
        Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 1000, seed: 133);
        var resolved = args.Select(a => a.Replace("IN", Path.Combine(sandbox.Root, "in"), StringComparison.Ordinal)
            .Replace("OUT", Path.Combine(sandbox.Root, "out"), StringComparison.Ordinal)).ToArray();

        var run = await sandbox.LpAsync(resolved);

        run.AssertExitCode(2);
        run.AssertOneErrorLine();
        Assert.False(File.Exists(Path.Combine(sandbox.Root, "out/x.bin")));
    }
}
