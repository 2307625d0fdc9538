using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Data;

/// <summary>
/// Random bytes, which zstd cannot compress (each frame comes out a little longer than its chunk), and what an
/// uninterrupted `lp copy --process zstd` makes of them with <see cref="ChunkSize"/>: the bytes every interrupted
/// copy must end with. Made once per test class.
/// </summary>
public sealed class IncompressibleFixture : IAsyncLifetime
{
    public const int Length = 16 << 20;
    public const string ChunkSize = "1M";
    private readonly Sandbox _sandbox = new();

    public string Path { get; private set; } = "";

    public string Sha256 { get; private set; } = "";

    /// <summary>SHA-256 and length of the uninterrupted copy's output.</summary>
    public (string Sha256, long Length) Clean { get; private set; }

    public async Task InitializeAsync()
    {
        Path = _sandbox.PathOf("in/random.bin");
        Sha256 = Digest.Sha256(Digest.WriteRandomFile(Path, Length, seed: 20261206));
        var clean = _sandbox.PathOf("clean/random.bin.zst");
        (await _sandbox.LpAsync("copy", Path, clean, "--process", "zstd", "--chunk-size", ChunkSize, "--json")).AssertExitCode(0);
        var (decoded, length) = Digest.Sha256OfZstdFile(clean);
        Assert.Equal((Sha256, (long)Length), (decoded, length));
        Clean = (Digest.Sha256OfFile(clean), new FileInfo(clean).Length);
    }

    public Task DisposeAsync()
    {
        _sandbox.Dispose();
        return Task.CompletedTask;
    }
}
