using System.Globalization;
using System.Text;

namespace LoadPipe.Server.Ingest.Validation;

/// <summary>
/// The client's file name, checked, and the name the file gets at its element: the seed's pattern
/// `{name}_{owner}_{UTC time}_{uuid}{.ext}` ("report_ivanov_20250102T153045_9f1c....pdf"), made of safe characters only,
/// so no client input can choose a folder or a name another file holds.
/// </summary>
public static class FileNames
{
    public const int MaxLength = 255;

    // Windows' device names: a file called so cannot be created or opened there, whatever its extension.
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL",
        "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>Null when <paramref name="name"/> is an acceptable file name, else why not (400 invalid_filename).</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0 || name.Trim().Length == 0) return "the filename is empty";
        if (Encoding.UTF8.GetByteCount(name) > MaxLength) return $"the filename is longer than {MaxLength} bytes";
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal)) return "the filename holds a path separator";
        if (name.Contains("..", StringComparison.Ordinal)) return "the filename holds '..'";
        if (name.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029' or '\uFFFD')) return "the filename holds a control character";
        if (name is "." || name.EndsWith('.') || name.EndsWith(' ')) return "the filename ends with a dot or a space";
        var stem = name.Split('.')[0].TrimEnd();
        if (Reserved.Contains(stem)) return $"the filename '{stem}' is a reserved device name";
        return null;
    }

    /// <summary>The object name for a file the client called <paramref name="original"/>, uploaded by
    /// <paramref name="owner"/> at <paramref name="at"/>, with <paramref name="uuid"/> making it unique.</summary>
    public static string StorageFilename(string original, string owner, DateTimeOffset at, Guid uuid)
    {
        var dot = original.LastIndexOf('.');
        var (stem, extension) = dot > 0 ? (original[..dot], original[dot..]) : (original, "");
        var safeExtension = Safe(extension.TrimStart('.'), 16);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Safe(stem, 100)}_{Safe(owner, 40)}_{at.UtcDateTime:yyyyMMdd'T'HHmmss}_{uuid:D}{(safeExtension.Length > 0 ? "." + safeExtension : "")}");
    }

    /// <summary>Letters and digits of any script, '-' and '.', the rest as '_': readable, and safe on every store.</summary>
    private static string Safe(string text, int max)
    {
        var b = new StringBuilder(Math.Min(text.Length, max));
        foreach (var c in text)
        {
            if (b.Length == max) break;
            b.Append(char.IsLetterOrDigit(c) || c is '-' ? c : '_');
        }
        var safe = b.ToString().Trim('_');
        return safe.Length == 0 ? "file" : safe;
    }
}
