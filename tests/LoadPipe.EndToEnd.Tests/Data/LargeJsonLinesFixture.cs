namespace LoadPipe.EndToEnd.Tests.Data;

/// <summary>
/// A 110 MiB JSON-lines file, written once per test class and only read by its tests (a test that changes a
/// source copies it first). Its zstd-compressed form is made on first use.
/// </summary>
public sealed class LargeJsonLinesFixture : IAsyncLifetime
{
    public const long MinimumLength = 110L << 20;
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("lp-e2e-data-");
    private readonly Lazy<string> _compressed;
    private JsonLinesFile? _file;

    public LargeJsonLinesFixture()
    {
        _compressed = new Lazy<string>(() =>
        {
            var path = Path.Combine(_folder.FullName, "events.jsonl.zst");
            Digest.CompressZstd(File.Path, path);
            return path;
        });
    }

    public JsonLinesFile File => _file ?? throw new InvalidOperationException("the fixture is not initialised");

    /// <summary><see cref="File"/> as one zstd frame.</summary>
    public string CompressedPath => _compressed.Value;

    public Task InitializeAsync()
    {
        _file = JsonLines.Write(Path.Combine(_folder.FullName, "events.jsonl"), MinimumLength, seed: 20250301);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _folder.Delete(recursive: true);
        return Task.CompletedTask;
    }
}
