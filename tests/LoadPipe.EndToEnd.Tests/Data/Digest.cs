using System.Security.Cryptography;
using ZstdSharp;

namespace LoadPipe.EndToEnd.Tests.Data;

/// <summary>SHA-256 of what lp wrote, decoded where it is compressed, and the inputs the tests feed it.</summary>
public static class Digest
{
    public static string Sha256OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Decodes a zstd file (one frame or many, concatenated) and hashes the result.</summary>
    public static (string Sha256, long Length) Sha256OfZstdFile(string path)
    {
        using var file = File.OpenRead(path);
        using var decoder = new DecompressionStream(file);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long length = 0;
        int n;
        while ((n = decoder.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            length += n;
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), length);
    }

    /// <summary>Compresses <paramref name="source"/> into one zstd frame at <paramref name="destination"/>.</summary>
    public static void CompressZstd(string source, string destination)
    {
        using var input = File.OpenRead(source);
        using var output = File.Create(destination);
        using var encoder = new CompressionStream(output, level: 3);
        input.CopyTo(encoder, 1 << 20);
    }

    /// <summary>Writes <paramref name="length"/> seeded random bytes to <paramref name="path"/>; returns them.</summary>
    public static byte[] WriteRandomFile(string path, int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return bytes;
    }
}
