using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.Tus;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>`lp copy` to the tus reference server: a file copied again is found there (through the manifest's record of
/// its upload and a HEAD on it) and skipped, not uploaded a second time.</summary>
public sealed class TusCopyTests
{
    [SkippableFact]
    public async Task Copy_SameFileAgain_IsSkippedWithoutANewUpload()
    {
        Skip.If(TusReference.Unavailable is not null, TusReference.Unavailable);
        using var sandbox = new Sandbox();
        var name = $"again-{Guid.NewGuid():N}"[..14] + ".bin";
        var source = sandbox.PathOf("in/" + name);
        var bytes = Digest.WriteRandomFile(source, 1 << 20, seed: 301);
        (await sandbox.LpAsync("copy", source, TusReference.Location, "--json")).AssertExitCode(0);
        var id = TusReference.UploadOf(name);
        Assert.NotNull(id);

        var again = await sandbox.LpAsync("copy", source, TusReference.Location, "--json");

        again.AssertExitCode(0);
        Assert.Equal(1, again.Summary.FilesSkipped);
        Assert.Equal(0, again.Summary.BytesSent);
        Assert.Equal(id, TusReference.UploadOf(name)); // one upload of that name on the server, the first
        Assert.Equal(Digest.Sha256(bytes), Digest.Sha256OfFile(TusReference.ContentOf(id)));
    }
}
