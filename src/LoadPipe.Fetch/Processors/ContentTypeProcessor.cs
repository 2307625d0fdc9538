using System.Text.Json.Nodes;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.Processors;

/// <summary>
/// `content-type`: the media type the file's first bytes announce (its magic number), from a small table of the
/// common formats; text when the start is valid UTF-8 without control bytes, else application/octet-stream. Reads at
/// most the first 4 KiB of the file's bytes, then the rest is drained (a streamed file must be read to its end).
/// </summary>
public sealed class ContentTypeProcessor : IFileProcessor
{
    private const int Probe = 4096;

    /// <summary>Offset, magic bytes, media type; first match wins, so longer magics come before their prefixes.</summary>
    private static readonly (int Offset, byte[] Magic, string Type)[] Table =
    [
        (0, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], "image/png"),
        (0, [0xFF, 0xD8, 0xFF], "image/jpeg"),
        (0, "GIF87a"u8.ToArray(), "image/gif"),
        (0, "GIF89a"u8.ToArray(), "image/gif"),
        (0, "%PDF-"u8.ToArray(), "application/pdf"),
        (0, [(byte)'P', (byte)'K', 3, 4], "application/zip"),
        (0, [(byte)'P', (byte)'K', 5, 6], "application/zip"),
        (0, [0x1F, 0x8B], "application/gzip"),
        (0, [0x28, 0xB5, 0x2F, 0xFD], "application/zstd"),
        (0, "BZh"u8.ToArray(), "application/x-bzip2"),
        (0, [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00], "application/x-xz"),
        (0, [(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C], "application/x-7z-compressed"),
        (257, "ustar"u8.ToArray(), "application/x-tar"),
        (0, "RIFF"u8.ToArray(), "application/x-riff"),
        (4, "ftyp"u8.ToArray(), "video/mp4"),
        (0, [0x1A, 0x45, 0xDF, 0xA3], "video/webm"),
        (0, "OggS"u8.ToArray(), "audio/ogg"),
        (0, "fLaC"u8.ToArray(), "audio/flac"),
        (0, "ID3"u8.ToArray(), "audio/mpeg"),
        (0, [0x7F, (byte)'E', (byte)'L', (byte)'F'], "application/x-elf"),
        (0, "SQLite format 3\0"u8.ToArray(), "application/vnd.sqlite3"),
        (0, [(byte)'w', (byte)'O', (byte)'F', (byte)'F'], "font/woff"),
        (0, [(byte)'w', (byte)'O', (byte)'F', (byte)'2'], "font/woff2"),
    ];

    public string Name => "content_type";

    public bool NeedsPath => false;

    public async ValueTask<JsonNode?> ProcessAsync(FileData file, CancellationToken cancellationToken = default)
    {
        var head = new byte[Probe];
        var filled = 0;
        var stream = file.OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            int n;
            while (filled < head.Length && (n = await stream.ReadAsync(head.AsMemory(filled), cancellationToken).ConfigureAwait(false)) > 0) filled += n;
            if (file.Path is null) await stream.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }
        return JsonValue.Create(Detect(head.AsSpan(0, filled)));
    }

    /// <summary>The media type of a file that starts with <paramref name="head"/>.</summary>
    public static string Detect(ReadOnlySpan<byte> head)
    {
        foreach (var (offset, magic, type) in Table)
        {
            if (head.Length >= offset + magic.Length && head.Slice(offset, magic.Length).SequenceEqual(magic))
                return type == "application/x-riff" ? Riff(head) : type;
        }
        var text = head.TrimStart("\uFEFF"u8);
        if (text.IsEmpty) return head.IsEmpty ? "application/x-empty" : "text/plain";
        if (LooksLikeText(text))
        {
            var start = text.TrimStart(" \t\r\n"u8);
            if (start.StartsWith("<?xml"u8)) return "application/xml";
            if (start.StartsWith("<!DOCTYPE html"u8) || start.StartsWith("<!doctype html"u8) || start.StartsWith("<html"u8)) return "text/html";
            if (start.StartsWith("{"u8) || start.StartsWith("["u8)) return "application/json";
            return "text/plain";
        }
        return "application/octet-stream";
    }

    private static string Riff(ReadOnlySpan<byte> head) =>
        head.Length >= 12 && head.Slice(8, 4).SequenceEqual("WAVE"u8) ? "audio/wav"
        : head.Length >= 12 && head.Slice(8, 4).SequenceEqual("WEBP"u8) ? "image/webp"
        : head.Length >= 12 && head.Slice(8, 4).SequenceEqual("AVI "u8) ? "video/x-msvideo"
        : "application/octet-stream";

    /// <summary>Valid UTF-8 (a sequence cut at the end of the probe allowed) with no control bytes but tabs and line ends.</summary>
    private static bool LooksLikeText(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C)) return false;
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out _, out _, replaceInvalidSequences: false, isFinalBlock: false);
        return status == System.Buffers.OperationStatus.Done || status == System.Buffers.OperationStatus.NeedMoreData;
    }
}
