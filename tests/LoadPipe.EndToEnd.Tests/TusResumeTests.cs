using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.Tus;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// `lp copy` as a tus client against the reference server (@tus/server with @tus/file-store), killed with -9 in the
/// middle of a PATCH: the server keeps the part of the body it got, past what the manifest confirmed. The next run
/// continues the same upload at the offset the server holds, which it reads with HEAD, sends each byte once, and the
/// stored upload is the file, byte for byte.
/// </summary>
public sealed class TusResumeTests
{
    private const int Size = 120 << 20;
    private const int Chunk = 8 << 20;

    [SkippableFact]
    public async Task Copy_KilledMidUpload_ResumesAtTheServersOffsetAndSendsOnlyTheRest()
    {
        Skip.If(TusReference.Unavailable is not null, TusReference.Unavailable);
        using var sandbox = new Sandbox();
        var name = $"big-{Guid.NewGuid():N}"[..12] + ".bin";
        var source = sandbox.PathOf("in/" + name);
        var bytes = Digest.WriteRandomFile(source, Size, seed: 300);

        // Through a slow link, so that the kill comes while a PATCH body is on its way: the server keeps what it got of it.
        await using var proxy = new ThrottlingProxy(new Uri(TusReference.Location["tus+".Length..]).Port, bytesPerSecond: 16 << 20);
        var location = TusReference.Location.Replace(new Uri(TusReference.Location["tus+".Length..]).Authority, $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal);
        await using (var lp = sandbox.StartLp("copy", source, location, "--json"))
        {
            await Eventually.ValueAsync(async () => lp.HasExited ? (-1L, -1L) : (await ManifestProbe.ConfirmedBytesAsync(sandbox), Held(name)),
                v => v.Item1 >= 2 * Chunk && v.Item2 % Chunk != 0, TimeSpan.FromSeconds(90),
                v => $"the manifest confirms {v.Item1} bytes and the server holds {v.Item2}, waiting for {2 * Chunk} confirmed and the server in the middle of a chunk (lp exited: {lp.HasExited})",
                giveUp: () => lp.HasExited);
            var killed = await lp.KillAsync();
            Assert.True(killed.ExitCode != 0, $"lp finished before it could be killed\n{killed}");
        }
        proxy.Throttled = false;
        var confirmed = await ManifestProbe.ConfirmedBytesOfLastSessionAsync(sandbox);
        var id = TusReference.UploadOf(name);
        Assert.NotNull(id);
        // The server may still be storing the tail of the cut body: it holds at least this much, and its offset (HEAD) is
        // what counts. It holds more than was confirmed unless the PATCH seen in flight ended just before the kill.
        var held = Held(name);
        Assert.True(held >= confirmed && held < Size, $"the server holds {held} bytes of {Size}, {confirmed} confirmed");
        var logBefore = TusReference.LogLines().Count;

        var run = await sandbox.LpAsync("copy", source, location, "--json");

        run.AssertExitCode(0);
        Assert.Equal("completed", run.Summary.Status);
        Assert.Equal(Size, run.Summary.Bytes);
        Assert.Equal(confirmed, run.Summary.BytesResumed);
        Assert.Equal(id, TusReference.UploadOf(name)); // the same upload, not a new one
        // What the server received the second time, from its own log: the rest after what it held, each byte once.
        var patches = TusReference.PatchesOf(id, TusReference.LogLines().Skip(logBefore));
        Assert.NotEmpty(patches);
        var resumedAt = patches[0].From;
        Assert.True(resumedAt >= held, $"the second run sent from {resumedAt}, the server held {held}");
        for (var i = 1; i < patches.Count; i++) Assert.Equal(patches[i - 1].To, patches[i].From);
        Assert.Equal(Size, patches[^1].To);
        Assert.Equal(Size - resumedAt, patches.Sum(p => p.To - p.From));
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(TusReference.ContentOf(id)));
    }

    /// <summary>The bytes the server holds of the upload named <paramref name="name"/> (the file store's file); 0 before it exists.</summary>
    private static long Held(string name) =>
        TusReference.UploadOf(name) is { } id && new FileInfo(TusReference.ContentOf(id)) is { Exists: true } file ? file.Length : 0;
}
