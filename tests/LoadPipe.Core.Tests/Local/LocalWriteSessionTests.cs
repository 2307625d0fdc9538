using System.Diagnostics;
using LoadPipe.Core.Errors;
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

        // Once 8 MiB are unflushed a write starts an fsync in the background, and the commit waits for it: at least that
        // range is durable and dropped by now. Without the drop every byte just written would still be cached.
        Assert.True(cached <= content.Length - Write, $"{cached} of {content.Length} bytes still in the page cache");
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(await File.ReadAllBytesAsync(target)));
    }

    [Fact]
    public async Task BeginAndResumeWrite_PartialFileHeldByAnotherSession_BusyAndItsBytesUntouched()
    {
        var content = TestData.Random(3 * Write, seed: 8);
        var target = Path.Combine(_dir, "out", "dst.bin");
        var storage = new LocalStorage();
        var request = new WriteRequest { ExpectedSize = content.Length };

        var first = await storage.BeginWriteAsync(target, request);
        await using (first)
        {
            await first.WriteAsync(content.AsMemory(0, 2 * Write));

            var fresh = await Assert.ThrowsAsync<LoadPipeException>(() => storage.BeginWriteAsync(target, request));
            var resumed = await Assert.ThrowsAsync<LoadPipeException>(() => storage.ResumeWriteAsync(target, first.ResumeState!, Write, request));

            Assert.Equal(ErrorKind.Busy, fresh.Kind);
            Assert.Equal(ErrorKind.Busy, resumed.Kind);
            Assert.StartsWith("destination busy: ", fresh.Message, StringComparison.Ordinal);
            Assert.Equal(2L * Write, new FileInfo(LocalStorage.PartialPath(target)).Length);
            await first.WriteAsync(content.AsMemory(2 * Write));
            await first.CommitAsync();
        }

        Assert.Equal(TestData.Sha256(content), TestData.Sha256(await File.ReadAllBytesAsync(target)));
        // Once the first has let the partial file go (renamed), the next writer starts its own.
        var next = await storage.BeginWriteAsync(target, request);
        await using (next) await next.AbortAsync();
        Assert.False(File.Exists(LocalStorage.PartialPath(target)));
        Assert.Equal(TestData.Sha256(content), TestData.Sha256(await File.ReadAllBytesAsync(target)));
    }

    [Fact]
    public async Task ResumeWrite_AfterResume_ReadsTheWrittenBytesThroughItsOwnLock()
    {
        var content = TestData.Random(2 * Write, seed: 9);
        var target = Path.Combine(_dir, "out", "dst.bin");
        var storage = new LocalStorage();
        var request = new WriteRequest { ExpectedSize = content.Length };
        string state;
        await using (var first = await storage.BeginWriteAsync(target, request))
        {
            await first.WriteAsync(content.AsMemory(0, Write));
            state = first.ResumeState!;
        }

        var resumed = (await storage.ResumeWriteAsync(target, state, Write, request))!;
        await using (resumed)
        {
            var written = (await resumed.OpenWrittenAsync())!;
            await using (written)
            {
                var back = new MemoryStream();
                await written.CopyToAsync(back);
                Assert.Equal(TestData.Sha256(content.AsSpan(0, Write).ToArray()), TestData.Sha256(back.ToArray()));
            }
            await resumed.WriteAsync(content.AsMemory(Write));
            await resumed.CommitAsync();
        }

        Assert.Equal(TestData.Sha256(content), TestData.Sha256(await File.ReadAllBytesAsync(target)));
    }

    [Fact]
    public async Task UnbufferedWrite_AlignedMiddleSkipsThePageCacheAndUnalignedPiecesResumeByteForByte()
    {
        // Writes at offsets and of sizes that are not multiples of 4 KiB, a session given up part way (as a killed
        // server's) and resumed at an unaligned length: the file holds every byte, in order.
        var content = TestData.Random(3 * Write + 12_345, seed: 10);
        var target = Path.Combine(_dir, "out", "dst.bin");
        var storage = new LocalStorage();
        var request = new WriteRequest { ExpectedSize = content.Length, Unbuffered = true };
        int[] sizes = [1, 4095, 4097, Write + 5, 3, 300_000];
        var offset = 0;
        string state;
        await using (var first = await storage.BeginWriteAsync(target, request))
        {
            await first.WriteAsync(content.AsMemory(0, Write));
            offset = Write;
            // Not flushed yet, and no background fsync (under 8 MiB): a buffered write would still be in the page cache.
            Assert.Equal(0, await ResidentBytesAsync(LocalStorage.PartialPath(target)));
            foreach (var size in sizes[..3])
            {
                await first.WriteAsync(content.AsMemory(offset, size));
                offset += size;
            }
            await first.FlushAsync();
            state = first.ResumeState!;
        }

        var resumed = (await storage.ResumeWriteAsync(target, state, offset, request))!;
        await using (resumed)
        {
            var written = (await resumed.OpenWrittenAsync())!;
            await using (written)
            {
                var back = new MemoryStream();
                await written.CopyToAsync(back);
                Assert.Equal(TestData.Sha256(content.AsSpan(0, offset).ToArray()), TestData.Sha256(back.ToArray()));
            }
            foreach (var size in sizes[3..])
            {
                await resumed.WriteAsync(content.AsMemory(offset, size));
                offset += size;
            }
            await resumed.WriteAsync(content.AsMemory(offset));
            await resumed.FlushAsync();
            await resumed.CommitAsync();
        }

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
