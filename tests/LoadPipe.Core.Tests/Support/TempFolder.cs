namespace LoadPipe.Core.Tests.Support;

/// <summary>A fresh folder per test, removed afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateTempSubdirectory("lp-test-").FullName;
    }

    public string Path { get; }

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
    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Random(int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Compressible JSON lines with a "level" field, about <paramref name="size"/> bytes.</summary>
    public static byte[] JsonLines(int size, int seed = 2)
    {
        var random = new Random(seed);
        var sb = new System.Text.StringBuilder(size + 200);
        string[] levels = ["info", "warn", "error"];
        for (var i = 0; sb.Length < size; i++)
            sb.Append("{\"i\":").Append(i).Append(",\"level\":\"").Append(levels[random.Next(3)]).Append("\",\"msg\":\"")
              .Append('x', random.Next(5, 60)).Append("\"}\n");
        return System.Text.Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
}
