using System.Text;

namespace LoadPipe.Server.Tus;

/// <summary>
/// The Upload-Metadata header (tus 1.0.0, Creation, "Upload-Metadata"): "one or more comma-separated key-value pairs.
/// The key and value MUST be separated by a space. The key MUST NOT contain spaces and commas and MUST NOT be empty ...
/// the value MUST be Base64 encoded. All keys MUST be unique." Values are kept as the client sent them (Base64), so a
/// HEAD returns them byte for byte, binary ones included.
/// </summary>
public static class UploadMetadata
{
    /// <summary>Keys the server keeps for itself beside the client's: a client's key cannot hold a space, so these never collide.</summary>
    public const string ConcatKey = "lp concat";

    /// <summary>The name the server gave the object at the destination (see <see cref="ObjectNames"/>).</summary>
    public const string ObjectKey = "lp object";

    /// <summary>The pairs, or null with <paramref name="error"/> when the header breaks the rules above.</summary>
    public static Dictionary<string, string>? Parse(string? header, out string? error)
    {
        error = null;
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(header)) return pairs;
        foreach (var raw in header.Split(','))
        {
            var pair = raw.Trim(' ');
            var space = pair.IndexOf(' ');
            var key = space < 0 ? pair : pair[..space];
            var value = space < 0 ? "" : pair[(space + 1)..];
            if (key.Length == 0) { error = "Upload-Metadata: a key is empty"; return null; }
            if (value.Contains(' ', StringComparison.Ordinal)) { error = $"Upload-Metadata: the value of '{key}' holds a space"; return null; }
            if (!IsBase64(value)) { error = $"Upload-Metadata: the value of '{key}' is not Base64"; return null; }
            if (!pairs.TryAdd(key, value)) { error = $"Upload-Metadata: the key '{key}' is given twice"; return null; }
        }
        return pairs;
    }

    /// <summary>The header for the client's pairs (the server's own keys left out), or null when there are none.</summary>
    public static string? Format(IReadOnlyDictionary<string, string> metadata)
    {
        var pairs = metadata.Where(kv => !kv.Key.Contains(' ', StringComparison.Ordinal))
            .Select(kv => kv.Value.Length == 0 ? kv.Key : kv.Key + " " + kv.Value).ToList();
        return pairs.Count == 0 ? null : string.Join(',', pairs);
    }

    /// <summary>A value decoded as UTF-8 text, or null when it is not valid UTF-8.</summary>
    public static string? DecodeText(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static bool IsBase64(string value)
    {
        if (value.Length % 4 != 0) return false;
        Span<byte> scratch = value.Length <= 1024 ? stackalloc byte[value.Length] : new byte[value.Length];
        return Convert.TryFromBase64String(value, scratch, out _);
    }
}
