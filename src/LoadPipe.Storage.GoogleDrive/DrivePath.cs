using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// A path on a gdrive remote: names from the remote's root folder ("Projects/raw/dump.jsonl.zst"), or from a file or
/// folder given by id ("id:1AbC", "id:FOLDER_ID/sub/file.txt"). Drive allows several files of one name in a folder;
/// resolving picks one deterministically (<see cref="GoogleDriveStorage"/>).
/// </summary>
internal sealed record DrivePath(string Remote, string StartId, IReadOnlyList<string> Segments, bool ById = false)
{
    public const string IdPrefix = "id:";

    public static DrivePath Parse(string remote, string rootId, string path)
    {
        var text = path.Trim('/');
        var start = rootId;
        var byId = false;
        if (text.StartsWith(IdPrefix, StringComparison.Ordinal))
        {
            var rest = text[IdPrefix.Length..];
            var slash = rest.IndexOf('/');
            start = slash < 0 ? rest : rest[..slash];
            text = slash < 0 ? "" : rest[(slash + 1)..];
            byId = true;
            if (start.Length == 0) throw new LoadPipeException(ErrorKind.Usage, $"{remote}:{path}: 'id:' needs a file or folder id after it");
        }
        var segments = text.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Any(s => s is "." or ".."))
            throw new LoadPipeException(ErrorKind.Usage, $"{remote}:{path}: '.' and '..' are not Drive names");
        return new DrivePath(remote, start, segments, byId);
    }

    public bool IsStart => Segments.Count == 0;

    public string Name => Segments.Count == 0 ? "" : Segments[^1];

    /// <summary>The folder holding this path (its start for a single name). Only for paths with segments.</summary>
    public DrivePath Parent => this with { Segments = Segments.Take(Segments.Count - 1).ToArray() };

    /// <summary>The cache key of this path: start id and names.</summary>
    public string Key => StartId + "/" + string.Join('/', Segments);

    /// <summary>A Drive query string literal: backslash and quote escaped.</summary>
    public static string Quote(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    public override string ToString() =>
        $"{Remote}:{(ById ? IdPrefix + StartId + (Segments.Count > 0 ? "/" : "") : "")}{string.Join('/', Segments)}";
}
