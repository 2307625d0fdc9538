using LoadPipe.Core.Uploads;

namespace LoadPipe.Server.Tus;

/// <summary>
/// The Upload-Checksum header (tus 1.0.0, Checksum, "Upload-Checksum"): "the name of the used checksum algorithm and
/// the Base64 encoded checksum separated by a space". An algorithm the server lacks is answered with "400 Bad Request";
/// so is a digest that is not Base64 or not the algorithm's length.
/// </summary>
public static class ChecksumHeader
{
    public static BodyChecksum? Parse(string header, out string? error)
    {
        error = null;
        var space = header.IndexOf(' ');
        var algorithm = space < 0 ? header : header[..space];
        if (!BodyChecksum.Algorithms.Contains(algorithm))
        {
            error = $"Upload-Checksum: algorithm '{algorithm}' is not supported (Tus-Checksum-Algorithm: {string.Join(',', BodyChecksum.Algorithms)})";
            return null;
        }
        var encoded = space < 0 ? "" : header[(space + 1)..].Trim();
        var digest = new byte[64];
        if (encoded.Length == 0 || !Convert.TryFromBase64String(encoded, digest, out var length))
        {
            error = "Upload-Checksum: the digest is not Base64";
            return null;
        }
        var expected = algorithm switch { "sha1" => 20, "md5" => 16, _ => 32 };
        if (length != expected)
        {
            error = $"Upload-Checksum: a {algorithm} digest is {expected} bytes, this one is {length}";
            return null;
        }
        return new BodyChecksum(algorithm, digest[..length]);
    }
}
