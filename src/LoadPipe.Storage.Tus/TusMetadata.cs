using System.Text;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// The <c>Upload-Metadata</c> header of the creation extension ("Upload-Metadata"): "one or more comma-separated
/// key-value pairs. The key and value MUST be separated by a space. The key MUST NOT contain spaces and commas and
/// MUST NOT be empty. The key SHOULD be ASCII encoded and the value MUST be Base64 encoded. All keys MUST be unique."
/// </summary>
internal static class TusMetadata
{
    /// <summary>
    /// What tus clients send for a file (tus-js-client, Uppy): <c>filename</c> (the last segment of
    /// <paramref name="path"/>), <c>filetype</c> (the content type, application/octet-stream when unknown) and, for a
    /// file in a folder, <c>relativePath</c> (the whole path, as Uppy sends for folder uploads); then the
    /// <paramref name="extra"/> pairs (from --meta), which may replace those three.
    /// </summary>
    public static string For(string path, string? contentType, IReadOnlyDictionary<string, string> extra)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["filename"] = path[(path.LastIndexOf('/') + 1)..],
            ["filetype"] = contentType ?? "application/octet-stream",
        };
        if (path.Contains('/', StringComparison.Ordinal)) pairs["relativePath"] = path;
        foreach (var (key, value) in extra)
        {
            if (key.Length == 0 || key.Any(c => c is ' ' or ',' || c > 0x7e || char.IsControl(c)))
                throw new LoadPipeException(ErrorKind.Usage, $"--meta '{key}': a tus metadata key is printable ASCII without spaces or commas");
            pairs[key] = value;
        }
        return Encode(pairs);
    }

    /// <summary>The header's value for <paramref name="pairs"/>, in their order.</summary>
    public static string Encode(IEnumerable<KeyValuePair<string, string>> pairs) =>
        string.Join(',', pairs.Select(p => p.Value.Length == 0 ? p.Key : p.Key + " " + Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Value))));
}
