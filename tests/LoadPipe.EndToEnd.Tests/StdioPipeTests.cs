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

    /// <summary>Runs `lp LEFT | lp RIGHT` and returns both results once both ended.</summary>
    private static async Task<(LpResult Left, LpResult Right)> PipeAsync(Sandbox sandbox, string[] left, string[] right)
    {
        await using var reader = LpProcess.Start(sandbox, [.. right, "--manifest", sandbox.Manifest], redirectStdin: true);
        await using var writer = LpProcess.Start(sandbox, [.. left, "--manifest", sandbox.Manifest], stdout: reader.StandardInput);
        var writerResult = await writer.WaitAsync();
        return (writerResult, await reader.WaitAsync());
    }
}
