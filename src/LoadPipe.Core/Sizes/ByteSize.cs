using System.Globalization;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Sizes;

/// <summary>
/// Byte counts as people write them, rclone's way: a number with an optional suffix B, K, M, G, T or P, each a power
/// of 1024 ("8M" = 8 MiB). "KiB"/"KB" spellings are accepted and mean the same.
/// </summary>
public static class ByteSize
{
    public static long Parse(string text, string what)
    {
        if (TryParse(text, out var value)) return value;
        throw new LoadPipeException(ErrorKind.Usage, $"{what}: '{text}' is not a size (examples: 512K, 8M, 1G)");
    }

    public static bool TryParse(string? text, out long value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        var end = s.Length;
        while (end > 0 && char.IsLetter(s[end - 1])) end--;
        var suffix = s[end..].ToUpperInvariant();
        if (!decimal.TryParse(s[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) || number < 0)
            return false;
        int shift = suffix switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            "P" or "PB" or "PIB" => 50,
            _ => -1,
        };
        if (shift < 0) return false;
        var bytes = number * (1L << shift);
        if (bytes > long.MaxValue) return false;
        value = (long)bytes;
        return true;
    }

    public static string Format(long bytes)
    {
        if (bytes < 0) return "?";
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = bytes;
        var u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.0} {units[u]}");
    }
}
