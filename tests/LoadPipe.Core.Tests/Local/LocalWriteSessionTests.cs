using System.Diagnostics;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Local;

/// <summary>The local destination's write session: the bytes on disk, and the drop-behind of what an fsync made durable.</summary>
public sealed class LocalWriteSessionTests : IDisposable
{
    private const int Write = 1 << 20;
    // Beside the test binaries, not in /tmp: on a tmpfs (/tmp on many machines) the page cache is the storage, and
    // nothing can be dropped from it.
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "lp-local-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Commit_AfterManyWrites_FlushedRangesLeftThePageCacheAndFileHoldsEveryByte()
    {
        var content = TestData.Random(16 * Write + 123, seed: 7);
        var target = Path.Combine(_dir, "out", "dst.bin");

        var session = await new LocalStorage().BeginWriteAsync(target, new WriteRequest { ExpectedSize = content.Length });
        await using (session)
        {
            for (var offset = 0; offset < content.Length; offset += Write)
                await session.WriteAsync(content.AsMemory(offset, Math.Min(Write, content.Length - offset)));
            await session.CommitAsync();
        }
        var cached = await ResidentBytesAsync(target);

        // The first write starts an fsync in the background and the commit waits for it: at least that write's range
        // is durable and dropped by now. Without the drop every byte just written would still be cached.
        Assert.True(cached <= content.Length - Write, $"{cached} of {content.Length} bytes still in the page cache");
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(await File.ReadAllBytesAsync(target)));
    }

    /// <summary>Bytes of the file in the page cache, as util-linux's fincore counts them.</summary>
    private static async Task<long> ResidentBytesAsync(string path)
    {
        var start = new ProcessStartInfo("fincore", ["--bytes", "--noheadings", "--output", "RES", path]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
