using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>`lp pull URL | lp push FILE`: two real processes joined by a pipe, as a shell would.</summary>
public sealed class StdioPipeTests(FileServer server) : IClassFixture<FileServer>
{
    [Fact]
    public async Task PullPipedIntoPush_HttpSource_StoresIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("piped.bin", 12 << 20, seed: 20);
        var destination = sandbox.PathOf("out/piped.bin");

        var (pull, push) = await PipeAsync(sandbox, ["pull", server.UrlOf("piped.bin")], ["push", destination, "--json"]);

        pull.AssertExitCode(0);
        push.AssertExitCode(0);
        Assert.Equal("completed", push.Summary.Status);
        Assert.Equal(content.Length, push.Summary.Bytes);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task PullPipedIntoPush_ZstdOnTheWireUnzstdAtTheEnd_StoresIdenticalBytes()
    {
        using var sandbox = new Sandbox();
        var lines = JsonLines.Write(sandbox.PathOf("events.jsonl"), 16 << 20, seed: 21);
        server.Publish("events.jsonl", File.ReadAllBytes(lines.Path));
        var destination = sandbox.PathOf("out/events.jsonl");

        var (pull, push) = await PipeAsync(sandbox,
            ["pull", server.UrlOf("events.jsonl"), "--process", "zstd"],
            ["push", destination, "--process", "unzstd", "--json"]);

        pull.AssertExitCode(0);
        push.AssertExitCode(0);
        Assert.True(push.Summary.Bytes == lines.Length, $"push stored {push.Summary.Bytes} bytes, not {lines.Length}\n{push}");
        Assert.Equal(lines.Sha256, Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task Pull_LocalFile_WritesExactBytesToStdout()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/data.bin");
        var content = Digest.WriteRandomFile(source, 5 << 20, seed: 22);
        var captured = sandbox.PathOf("captured.bin");

        LpResult pull;
        await using (var output = File.Create(captured))
        await using (var lp = LpProcess.Start(sandbox, ["pull", source, "--manifest", sandbox.Manifest], stdout: output))
            pull = await lp.WaitAsync();

        pull.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(captured));
    }

    [Fact]
    public async Task Pull_IntoAReaderThatStopsAfter1MiB_FailsWithoutClaimingTheBytes()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/big.bin");
        Digest.WriteRandomFile(source, 32 << 20, seed: 23);

        // `lp pull big.bin | head -c 1M`: the reader goes away, and the bytes after it reach nobody.
        LpResult pull;
        await using (var lp = LpProcess.Start(sandbox, ["pull", source, "--json", "--manifest", sandbox.Manifest], closeStdoutAfter: 1 << 20))
            pull = await lp.WaitAsync();

        Assert.True(pull.ExitCode is 1 or 141, $"a closed pipe must fail the run\n{pull}");
        Assert.Contains(pull.StderrLines, l => l.StartsWith("error: ", StringComparison.Ordinal) && l.Contains("standard output", StringComparison.Ordinal));
        // With data on stdout, the JSON line is the last line on stderr.
        var summary = RunSummary.Parse(pull.StderrLines[^1]);
        Assert.Equal("failed", summary.Status);
        Assert.True(summary.BytesSent < 32 << 20, $"{summary.BytesSent} bytes claimed as sent to a reader that took 1 MiB\n{pull}");
    }

    [Fact]
    public async Task Push_RerunAfterAKill_WarnsThatStandardInputCannotResume()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/pushed.bin");
        var content = new byte[8 << 20];
        new Random(24).NextBytes(content);

        // A push killed once a chunk is confirmed: its record and partial file stay for the rerun to find.
        await using (var first = LpProcess.Start(sandbox, ["push", destination, "--chunk-size", "1M", "--manifest", sandbox.Manifest], redirectStdin: true))
        {
            await first.StandardInput.WriteAsync(content.AsMemory(0, 4 << 20));
            await first.StandardInput.FlushAsync();
            await Eventually.ValueAsync(() => ManifestProbe.ConfirmedBytesAsync(sandbox), confirmed => confirmed > 0, TimeSpan.FromSeconds(60),
                confirmed => $"{confirmed} bytes confirmed", giveUp: () => first.HasExited);
            await first.KillAsync();
        }

        LpResult again;
        await using (var second = LpProcess.Start(sandbox, ["push", destination, "--chunk-size", "1M", "--manifest", sandbox.Manifest], redirectStdin: true))
        {
            await second.StandardInput.WriteAsync(content);
            second.StandardInput.Close();
            again = await second.WaitAsync();
        }

        again.AssertExitCode(0);
        var warning = Assert.Single(again.StderrLines, l => l.StartsWith("warning: ", StringComparison.Ordinal));
        Assert.Contains("standard input", warning);
        Assert.DoesNotContain("size -1", warning);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
    }

    /// <summary>Runs `lp LEFT | lp RIGHT` and returns both results once both ended.</summary>
    private static async Task<(LpResult Left, LpResult Right)> PipeAsync(Sandbox sandbox, string[] left, string[] right)
    {
        await using var reader = LpProcess.Start(sandbox, [.. right, "--manifest", sandbox.Manifest], redirectStdin: true);
        await using var writer = LpProcess.Start(sandbox, [.. left, "--manifest", sandbox.Manifest], stdout: reader.StandardInput);
        var writerResult = await writer.WaitAsync();
        return (writerResult, await reader.WaitAsync());
    }
}
