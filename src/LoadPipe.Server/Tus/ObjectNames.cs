namespace LoadPipe.Server.Tus;

/// <summary>
/// The name a finished upload gets at the destination: the client's `filename` metadata when it is a plain file name,
/// else the upload's id. A name is one path segment of printable characters: a client can never choose another folder.
/// </summary>
public static class ObjectNames
{
    public const int MaxLength = 255;

    /// <summary>Null when <paramref name="name"/> is acceptable, else why not (the request is refused with 400).</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "the filename is empty";
        if (System.Text.Encoding.UTF8.GetByteCount(name) > MaxLength) return $"the filename is longer than {MaxLength} bytes";
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal)) return "the filename holds a path separator";
        if (name.Contains("..", StringComparison.Ordinal)) return "the filename holds '..'";
        if (name.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029')) return "the filename holds a control character";
        if (name.Trim().Length == 0 || name == ".") return "the filename is blank";
        if (name == ServerDefaults.StagingFolder) return "the filename is reserved";
        return null;
    }

    /// <summary>The longest object name made, in UTF-8 bytes: a file system's name limit (255) less what a local
    /// destination adds for the partial file while the upload runs (".NAME.lp-partial", 12 bytes).</summary>
    public const int MaxObjectName = MaxLength - 12;

    /// <summary><paramref name="name"/> as an object name: itself when it fits <see cref="MaxObjectName"/>, else cut
    /// (see <see cref="WithId"/>).</summary>
    public static string Fit(string name) => Join(name, "");

    /// <summary><paramref name="name"/> made distinct with <paramref name="tag"/> (part or all of the upload's id):
    /// "report.pdf" becomes "report-1a2b3c4d.pdf". A name that would then pass <see cref="MaxObjectName"/> bytes loses
    /// the end of its stem (whole characters, never half a UTF-8 sequence nor half a grapheme), keeping its extension
    /// and the tag; an extension too long to keep goes with the stem.</summary>
    public static string WithId(string name, string tag) => Join(name, "-" + tag);

    private static string Join(string name, string tag)
    {
        var dot = name.LastIndexOf('.');
        var (stem, extension) = dot > 0 ? (name[..dot], name[dot..]) : (name, "");
        if (Utf8(stem) + Utf8(tag) + Utf8(extension) <= MaxObjectName) return stem + tag + extension;
        // The stem keeps at least a few bytes: else the extension is cut with it, as part of one long stem.
        if (Utf8(tag) + Utf8(extension) > MaxObjectName - 16) (stem, extension) = (name, "");
        var cut = Cut(stem, MaxObjectName - Utf8(tag) - Utf8(extension)).TrimEnd('.', ' ');
        return (cut.Length > 0 ? cut : "_") + tag + extension;
    }

    /// <summary>The longest start of <paramref name="text"/> of at most <paramref name="bytes"/> UTF-8 bytes that ends
    /// between two graphemes.</summary>
    private static string Cut(string text, int bytes)
    {
        var end = 0;
        var used = 0;
        while (end < text.Length)
        {
            var length = System.Globalization.StringInfo.GetNextTextElementLength(text, end);
            var size = Utf8(text.AsSpan(end, length));
            if (used + size > bytes) break;
            used += size;
            end += length;
        }
        return text[..end];
    }

    private static int Utf8(ReadOnlySpan<char> text) => System.Text.Encoding.UTF8.GetByteCount(text);
}
