namespace LoadPipe.EndToEnd.Tests.Data;

/// <summary>Folders of seeded random files for folder copies, and their contents as relative path -> SHA-256, so a
/// copy's result is compared with its source in one assertion.</summary>
public static class FileTree
{
    /// <summary>Writes each (relative path, length) under <paramref name="root"/> with seeded random bytes.</summary>
    public static void Write(string root, IEnumerable<(string Path, int Length)> files, int seed)
    {
        foreach (var (path, length) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            Digest.WriteRandomFile(full, length, seed++);
        }
    }

    /// <summary><paramref name="count"/> small files named f000.bin... of 1 byte to <paramref name="maxLength"/>, some
    /// in a subfolder.</summary>
    public static IEnumerable<(string Path, int Length)> Small(int count, int maxLength, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
            yield return ($"{(i % 4 == 3 ? "sub/" : "")}f{i:000}.bin", random.Next(1, maxLength + 1));
    }

    /// <summary>Every file below <paramref name="root"/>: its path relative to it ('/' separated) and its SHA-256.</summary>
    public static SortedDictionary<string, string> Digests(string root) =>
        new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'), Digest.Sha256OfFile),
            StringComparer.Ordinal);

    /// <summary>The bytes of every file below <paramref name="root"/>.</summary>
    public static long TotalLength(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
}
