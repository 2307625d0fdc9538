using System.Diagnostics;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// Sources that are not plain files: links (followed, as rclone's -L does), named pipes (never opened: an open waits
/// for a writer), links to nothing, and the destination itself under another name.
/// </summary>
public sealed class SourceKindTests
{
    [Theory]
    [InlineData("grep:^$")]
    [InlineData(null)]
    public async Task Copy_FileOntoItself_ExitsWith2AndLeavesTheFileAsItWas(string? stage)
    {
        using var sandbox = new Sandbox();
        var file = sandbox.PathOf("in/data.bin");
        var bytes = Digest.WriteRandomFile(file, 1 << 20, seed: 1);

        var run = await sandbox.LpAsync(stage is null ? ["copy", file, file] : ["copy", file, file, "--process", stage]);

        run.AssertExitCode(2);
        Assert.Contains("same file", run.AssertOneErrorLine());
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(file));
    }

    [Fact]
    public async Task Copy_OntoAHardLinkOfItself_ExitsWith2AndLeavesTheFileAsItWas()
    {
        using var sandbox = new Sandbox();
        var file = sandbox.PathOf("in/data.bin");
        var bytes = Digest.WriteRandomFile(file, 1 << 20, seed: 2);
        var other = sandbox.PathOf("out/other-name.bin");
        await RunAsync("ln", file, other);

        var run = await sandbox.LpAsync("copy", file, other, "--process", "grep:^$");

        run.AssertExitCode(2);
        Assert.Contains("same file", run.AssertOneErrorLine());
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(file));
    }

    [Fact]
    public async Task Copy_OntoItselfThroughALinkedFolder_ExitsWith2AndLeavesTheFileAsItWas()
    {
        using var sandbox = new Sandbox();
        var file = sandbox.PathOf("in/data.bin");
        var bytes = Digest.WriteRandomFile(file, 1 << 20, seed: 3);
        Directory.CreateSymbolicLink(sandbox.PathOf("linked"), sandbox.PathOf("in"));

        var run = await sandbox.LpAsync("copy", file, sandbox.PathOf("linked/data.bin"), "--process", "grep:^$");

        run.AssertExitCode(2);
        Assert.Contains("same file", run.AssertOneErrorLine());
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(file));
    }

    [Fact]
    public async Task Copy_FolderOntoItself_ExitsWith2()
    {
        using var sandbox = new Sandbox();
        var folder = sandbox.PathOf("in/a.bin");
        Digest.WriteRandomFile(folder, 4096, seed: 4);

        var run = await sandbox.LpAsync("copy", sandbox.PathOf("in"), sandbox.PathOf("in/"), "--process", "grep:^$");

        run.AssertExitCode(2);
        Assert.Contains("same folder", run.AssertOneErrorLine());
    }

    [Fact]
    public async Task Copy_FolderIntoAFolderInsideIt_LeavesThatFolderOutEveryRun()
    {
        using var sandbox = new Sandbox();
        var a = Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 4096, seed: 5);
        var c = Digest.WriteRandomFile(sandbox.PathOf("in/b/c.bin"), 4096, seed: 6);
        var backup = sandbox.PathOf("in/backup");

        // The second run lists the first one's copies inside the source: they are not copied into themselves.
        for (var i = 0; i < 2; i++)
        {
            var run = await sandbox.LpAsync("copy", sandbox.PathOf("in"), backup, "--json");
            run.AssertExitCode(0);
            Assert.Equal(2, run.Summary.Files);
            Assert.Contains(run.StderrLines, l => l.StartsWith("warning: ", StringComparison.Ordinal) && l.Contains("inside", StringComparison.Ordinal));
        }

        Assert.Equal(Digest.Sha256(a), Digest.Sha256OfFile(Path.Combine(backup, "a.bin")));
        Assert.Equal(Digest.Sha256(c), Digest.Sha256OfFile(Path.Combine(backup, "b/c.bin")));
        Assert.False(Directory.Exists(Path.Combine(backup, "backup")), "the copy was copied into itself");
    }

    [Fact]
    public async Task Copy_FolderWithANamedPipe_SkipsItWithAWarningAndCopiesTheRest()
    {
        using var sandbox = new Sandbox();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 4096, seed: 7);
        await RunAsync("mkfifo", sandbox.PathOf("in/pipe"));
        var destination = sandbox.PathOf("out");

        var run = await sandbox.LpAsync("copy", sandbox.PathOf("in"), destination, "--json");

        run.AssertExitCode(0);
        Assert.Equal(1, run.Summary.Files);
        Assert.Contains(run.StderrLines, l => l.StartsWith("warning: ", StringComparison.Ordinal) && l.Contains("pipe", StringComparison.Ordinal));
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(Path.Combine(destination, "a.bin")));
        Assert.False(File.Exists(Path.Combine(destination, "pipe")));
        Assert.False(File.Exists(Sandbox.PartialOf(Path.Combine(destination, "pipe"))));
    }

    [Fact]
    public async Task Copy_NamedPipeAsTheSource_ExitsWith2WithoutOpeningIt()
    {
        using var sandbox = new Sandbox();
        var pipe = sandbox.PathOf("in/pipe");
        await RunAsync("mkfifo", pipe);
        var destination = sandbox.PathOf("out/pipe.bin");

        var run = await sandbox.LpAsync("copy", pipe, destination);

        run.AssertExitCode(2);
        Assert.Contains("named pipe", run.AssertOneErrorLine());
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(Sandbox.PartialOf(destination)));
    }

    [Fact]
    public async Task Copy_LinkToAFileAsTheSource_CopiesWhatItLeadsTo()
    {
        using var sandbox = new Sandbox();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/real.bin"), 3 << 20, seed: 8);
        var link = sandbox.PathOf("in/link.bin");
        File.CreateSymbolicLink(link, sandbox.PathOf("in/real.bin"));
        var destination = sandbox.PathOf("out/copy.bin");

        var run = await sandbox.LpAsync("copy", link, destination, "--json");

        run.AssertExitCode(0);
        Assert.Equal(bytes.Length, run.Summary.Bytes);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task Copy_FolderWithALinkToAFile_CopiesWhatItLeadsTo()
    {
        using var sandbox = new Sandbox();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("elsewhere/real.bin"), 3 << 20, seed: 9);
        File.CreateSymbolicLink(sandbox.PathOf("in/link.bin"), sandbox.PathOf("elsewhere/real.bin"));
        var destination = sandbox.PathOf("out");

        var run = await sandbox.LpAsync("copy", sandbox.PathOf("in"), destination, "--json");

        run.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(Path.Combine(destination, "link.bin")));
        // Unchanged, it is not sent again.
        var again = await sandbox.LpAsync("copy", sandbox.PathOf("in"), destination, "--json");
        again.AssertExitCode(0);
        Assert.Equal(0, again.Summary.BytesSent);
    }

    [Fact]
    public async Task Copy_FolderWithALinkToNothing_FailsThatFileWithoutLeavingAPartialFile()
    {
        using var sandbox = new Sandbox();
        var bytes = Digest.WriteRandomFile(sandbox.PathOf("in/a.bin"), 4096, seed: 10);
        File.CreateSymbolicLink(sandbox.PathOf("in/dangling.bin"), sandbox.PathOf("nowhere.bin"));
        var destination = sandbox.PathOf("out");

        var run = await sandbox.LpAsync("copy", sandbox.PathOf("in"), destination, "--json");

        Assert.True(run.ExitCode != 0, $"a file failed, yet lp exited 0\n{run}");
        Assert.Equal(1, run.Summary.FilesFailed);
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(Path.Combine(destination, "a.bin")));
        Assert.False(File.Exists(Sandbox.PartialOf(Path.Combine(destination, "dangling.bin"))), "a 0-byte partial file was left");
        Assert.False(File.Exists(Path.Combine(destination, "dangling.bin")));
    }

    [Fact]
    public async Task Copy_LinkToNothingAsTheSource_ExitsWith1WithoutLeavingAPartialFile()
    {
        using var sandbox = new Sandbox();
        var link = sandbox.PathOf("in/dangling.bin");
        File.CreateSymbolicLink(link, sandbox.PathOf("nowhere.bin"));
        var destination = sandbox.PathOf("out/copy.bin");

        var run = await sandbox.LpAsync("copy", link, destination);

        run.AssertExitCode(1);
        run.AssertOneErrorLine();
        Assert.False(File.Exists(Sandbox.PartialOf(destination)), "a 0-byte partial file was left");
        Assert.False(File.Exists(destination));
    }

    private static async Task RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + program);
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {stderr}");
    }
}
