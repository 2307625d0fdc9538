using System.Security.Cryptography;

namespace LoadPipe.Storage.S3.Tests.Support;

/// <summary>A fresh folder per test, removed afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lp-s3-test-").FullName;

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public string Write(string relative, byte[] content)
    {
        var full = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class TestData
{
    public const int MiB = 1 << 20;

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Random(int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
