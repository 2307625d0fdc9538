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

    /// <summary><paramref name="name"/> made distinct with <paramref name="tag"/> (part or all of the upload's id):
    /// "report.pdf" becomes "report-1a2b3c4d.pdf".</summary>
    public static string WithId(string name, string tag)
    {
        var dot = name.LastIndexOf('.');
        return dot > 0 ? $"{name[..dot]}-{tag}{name[dot..]}" : $"{name}-{tag}";
    }
}
