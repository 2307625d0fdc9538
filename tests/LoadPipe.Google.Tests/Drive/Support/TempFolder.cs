using LoadPipe.Core.Locations;
using LoadPipe.Storage.Local;

namespace LoadPipe.Google.Tests.Drive.Support;

/// <summary>A fresh local folder per test, removed afterwards, and locations in it.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lp-gdrive-test-").FullName;

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public string Write(string relative, byte[] content)
    {
        var full = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    /// <summary>The local location of <paramref name="relative"/> in this folder.</summary>
    public Location At(string relative) => new(new LocalStorage(), this[relative], this[relative], relative.EndsWith('/'));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
