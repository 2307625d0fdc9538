using System.Text;

namespace LoadPipe.Server.Ingest.Validation;

/// <summary>
/// A file's MIME type from its first bytes (its magic numbers), never from what the client says: an own table of the
/// common signatures (no maintained sniffing library is available here). Text is UTF-8 without NUL; what matches
/// nothing is application/octet-stream.
/// </summary>
public static class MimeSniffer
{
    /// <summary>How many leading bytes <see cref="Detect"/> looks at; a ZIP's first entry names fit in them.</summary>
    public const int PrefixLength = 4096;

    private static readonly (byte[] Magic, int Offset, string Type)[] Signatures =
    [
        ("%PDF-"u8.ToArray(), 0, "application/pdf"),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], 0, "image/png"),
        ([0xFF, 0xD8, 0xFF], 0, "image/jpeg"),
        ("GIF87a"u8.ToArray(), 0, "image/gif"),
        ("GIF89a"u8.ToArray(), 0, "image/gif"),
        ([0x49, 0x49, 0x2A, 0x00], 0, "image/tiff"),
        ([0x4D, 0x4D, 0x00, 0x2A], 0, "image/tiff"),
        ("BM"u8.ToArray(), 0, "image/bmp"),
        ([0x00, 0x00, 0x01, 0x00], 0, "image/x-icon"),
        // OLE2 compound files: .doc, .xls and .ppt share this header; the seed's list names application/msword.
        ([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], 0, "application/msword"),
        ([0x1F, 0x8B], 0, "application/gzip"),
        ([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], 0, "application/x-7z-compressed"),
        ("Rar!\u001A\u0007"u8.ToArray(), 0, "application/vnd.rar"),
        ([0x28, 0xB5, 0x2F, 0xFD], 0, "application/zstd"),
        ("BZh"u8.ToArray(), 0, "application/x-bzip2"),
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], 0, "application/x-xz"),
        ("ID3"u8.ToArray(), 0, "audio/mpeg"),
        ("OggS"u8.ToArray(), 0, "audio/ogg"),
        ("fLaC"u8.ToArray(), 0, "audio/flac"),
        ([0x1A, 0x45, 0xDF, 0xA3], 0, "video/webm"),
        ("ftyp"u8.ToArray(), 4, "video/mp4"),
        ([0x7F, 0x45, 0x4C, 0x46], 0, "application/x-executable"),
        ("MZ"u8.ToArray(), 0, "application/x-msdownload"),
        ("{\\rtf"u8.ToArray(), 0, "application/rtf"),
    ];

    /// <summary>The type of a file that starts with <paramref name="prefix"/> (up to <see cref="PrefixLength"/> bytes,
    /// fewer for a shorter file).</summary>
    public static string Detect(ReadOnlySpan<byte> prefix)
    {
        if (prefix.Length >= 12 && prefix.StartsWith("RIFF"u8))
        {
            var kind = prefix.Slice(8, 4);
            if (kind.SequenceEqual("WEBP"u8)) return "image/webp";
            if (kind.SequenceEqual("WAVE"u8)) return "audio/wav";
            if (kind.SequenceEqual("AVI "u8)) return "video/x-msvideo";
        }
        if (prefix.StartsWith("PK\u0003\u0004"u8)) return Zip(prefix);
        foreach (var (magic, offset, type) in Signatures)
            if (prefix.Length >= offset + magic.Length && prefix.Slice(offset, magic.Length).SequenceEqual(magic))
                return type;
        return Text(prefix);
    }

    /// <summary>True when <paramref name="type"/> matches one of <paramref name="allowed"/>; "image/*" takes every image type.</summary>
    public static bool IsAllowed(string type, IReadOnlyList<string> allowed)
    {
        foreach (var pattern in allowed)
        {
            var p = pattern.Trim();
            if (p == "*/*" || p == "*") return true;
            if (p.EndsWith("/*", StringComparison.Ordinal)
                ? type.StartsWith(p[..^1], StringComparison.OrdinalIgnoreCase)
                : string.Equals(type, p, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>Office Open XML and OpenDocument files are ZIPs whose first entries name what they hold.</summary>
    private static string Zip(ReadOnlySpan<byte> prefix)
    {
        if (prefix.IndexOf("word/"u8) >= 0) return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        if (prefix.IndexOf("xl/"u8) >= 0) return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        if (prefix.IndexOf("ppt/"u8) >= 0) return "application/vnd.openxmlformats-officedocument.presentationml.presentation";
        if (prefix.IndexOf("mimetypeapplication/vnd.oasis.opendocument.text"u8) >= 0) return "application/vnd.oasis.opendocument.text";
        return "application/zip";
    }

    /// <summary>UTF-8 without NUL or other binary control bytes is text; a multi-byte character cut at the end of the
    /// prefix does not count against it.</summary>
    private static string Text(ReadOnlySpan<byte> prefix)
    {
        foreach (var b in prefix)
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C or 0x1B)) return "application/octet-stream";
        var check = prefix;
        for (var cut = 0; cut < 4 && check.Length > 0 && !System.Text.Unicode.Utf8.IsValid(check); cut++) check = check[..^1];
        if (!System.Text.Unicode.Utf8.IsValid(check)) return "application/octet-stream";
        var start = check.TrimStart(" \t\r\n"u8);
        if (start.StartsWith("<?xml"u8)) return "application/xml";
        if (start.StartsWith("<!DOCTYPE html"u8) || start.StartsWith("<html"u8)) return "text/html";
        if (start.StartsWith("<svg"u8)) return "image/svg+xml";
        return "text/plain";
    }
}
