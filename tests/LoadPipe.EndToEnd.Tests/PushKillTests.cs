using System.Globalization;
using System.Security.Cryptography;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// The push entry's promise: an append that returned is durable. Each append at an odd offset (1 byte, then 5 MiB + 3
/// (inside an S3 part), then 17 bytes, then the rest) runs in a process of its own that is killed with -9 as soon as it
/// printed the offset the append reported; the next process continues the upload from the manifest alone, and the
/// object is byte-identical with the SHA-256 recorded.
/// </summary>
public sealed class PushKillTests
{
    private static readonly int[] Cuts = [1, (5 << 20) + 3, 17];

    [Fact]
    public async Task Append_KilledAfterEachAppendReturned_LocalObjectIsByteIdentical()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/pushed.bin");

        var (data, sha256) = await PushWithKillsAsync(sandbox, destination, config: null);

        Assert.Equal(data, await File.ReadAllBytesAsync(destination));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), sha256);
        Assert.False(File.Exists(Sandbox.PartialOf(destination)));
    }

    [Fact]
    public async Task Append_KilledAfterEachAppendReturned_S3ObjectIsByteIdentical()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var prefix = S3Remote.NewPrefix("push-kill");

        var (data, sha256) = await PushWithKillsAsync(sandbox, $"{S3Remote.Folder(prefix)}pushed.bin", sandbox.PathOf(".config/loadpipe/config.yaml"));

        using var response = await S3Remote.Client.GetObjectAsync(S3Remote.Bucket, $"{prefix}/pushed.bin");
        using var stored = new MemoryStream();
        await response.ResponseStream.CopyToAsync(stored);
        Assert.Equal(data, stored.ToArray());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), sha256);
    }

    [Fact]
    public async Task Cleanup_OpenUpload_IsLeftForTheUploadToContinue()
    {
        using var sandbox = new Sandbox();
        var destination = sandbox.PathOf("out/open.bin");
        var file = sandbox.PathOf("in/body.bin");
        var data = new byte[1000];
        new Random(3).NextBytes(data);
        await File.WriteAllBytesAsync(file, data);
        await using (var first = PushProbe.Start(sandbox))
        {
            Assert.Equal("created open1", await first.AskAsync($"create open1 {destination} 1000"));
            Assert.Equal("offset 400", await first.AskAsync($"append open1 0 {file} 0 400"));
            await first.KillAsync();
        }

        var cleanup = await sandbox.LpAsync("cleanup", "--older-than", "0s");

        cleanup.AssertExitCode(0);
        Assert.DoesNotContain(cleanup.StdoutLines, line => line.StartsWith("aborted", StringComparison.Ordinal));
        await using var second = PushProbe.Start(sandbox);
        Assert.Equal("offset 1000", await second.AskAsync($"append open1 400 {file} 400 600"));
        Assert.Equal(data, await File.ReadAllBytesAsync(destination));
    }

    private static async Task<(byte[] Data, string Sha256)> PushWithKillsAsync(Sandbox sandbox, string destination, string? config)
    {
        var data = new byte[Cuts.Sum() + (3 << 20) + 5];
        new Random(12).NextBytes(data);
        var file = sandbox.PathOf("in/body.bin");
        await File.WriteAllBytesAsync(file, data);
        var id = "kill" + Guid.NewGuid().ToString("N")[..8];
        long offset = 0;
        foreach (var cut in Cuts.Append(data.Length - Cuts.Sum()))
        {
            await using var probe = PushProbe.Start(sandbox, config);
            if (offset == 0) Assert.Equal($"created {id}", await probe.AskAsync($"create {id} {destination} {data.Length}"));
            var answer = await probe.AskAsync(string.Create(CultureInfo.InvariantCulture, $"append {id} {offset} {file} {offset} {cut}"));
            offset += cut;
            Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"offset {offset}"), answer);
            await probe.KillAsync();
        }
        await using var last = PushProbe.Start(sandbox, config);
        var upload = (await last.AskAsync($"get {id}")).Split(' ');
        Assert.Equal(["upload", id, data.Length.ToString(CultureInfo.InvariantCulture), "Completed"], upload[..4]);
        return (data, upload[4]);
    }
}
