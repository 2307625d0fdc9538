using System.Security.Cryptography;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// The <c>Upload-Checksum</c> header of the tus checksum extension ("Checksum"): "the name of the used checksum
/// algorithm and the Base64 encoded checksum separated by a space", over the body of one PATCH.
/// </summary>
internal static class TusChecksum
{
    /// <summary>The algorithms this client computes, best first. "The Server MUST support at least the SHA1 checksum
    /// algorithm identified by sha1"; SHA-256 is preferred where offered (stronger, and faster here with SHA-NI).</summary>
    public static readonly IReadOnlyList<string> Preferred = ["sha256", "sha512", "sha1", "md5"];

    /// <summary>The header's value for <paramref name="data"/>.</summary>
    public static string Header(string algorithm, ReadOnlySpan<byte> data) => algorithm + " " + Convert.ToBase64String(algorithm switch
    {
        "sha256" => SHA256.HashData(data),
        "sha512" => SHA512.HashData(data),
        // Named by the server: SHA-1 and MD5 check a chunk in transit here, they guard no secret.
#pragma warning disable CA5350, CA5351
        "sha1" => SHA1.HashData(data),
        "md5" => MD5.HashData(data),
#pragma warning restore CA5350, CA5351
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not one of " + string.Join(", ", Preferred)),
    });
}
