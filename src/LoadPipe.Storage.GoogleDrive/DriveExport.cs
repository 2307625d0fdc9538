using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// Google documents (Docs, Sheets, Slides, Drawings, Apps Script) hold no bytes: Drive makes a file of them on request
/// (files.export, https://developers.google.com/drive/api/guides/ref-export-formats). A document is seen as
/// <c>NAME.EXT</c>, exported to the first format of the remote's <c>export_formats</c> its kind allows (rclone's
/// convention, and its default list); asked for by name with another extension its kind allows, it is exported to that
/// one. A kind none of the formats fits (Forms, Sites, shortcuts...) is skipped with a warning, as every document is
/// when <c>export_formats</c> is empty.
/// </summary>
internal static class DriveExport
{
    public const string DefaultFormats = "docx,xlsx,pptx,svg";

    private static readonly Dictionary<string, string> MimeTypes = new(StringComparer.Ordinal)
    {
        ["docx"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ["xlsx"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ["pptx"] = "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ["odt"] = "application/vnd.oasis.opendocument.text",
        ["ods"] = "application/vnd.oasis.opendocument.spreadsheet",
        ["odp"] = "application/vnd.oasis.opendocument.presentation",
        ["rtf"] = "application/rtf",
        ["epub"] = "application/epub+zip",
        ["pdf"] = "application/pdf",
        ["txt"] = "text/plain",
        ["csv"] = "text/csv",
        ["tsv"] = "text/tab-separated-values",
        ["svg"] = "image/svg+xml",
        ["png"] = "image/png",
        ["jpg"] = "image/jpeg",
        ["json"] = "application/vnd.google-apps.script+json",
    };

    // What each kind of document can be exported to (csv and tsv: the first sheet only).
    private static readonly Dictionary<string, string[]> Kinds = new(StringComparer.Ordinal)
    {
        ["application/vnd.google-apps.document"] = ["docx", "odt", "rtf", "pdf", "txt", "epub"],
        ["application/vnd.google-apps.spreadsheet"] = ["xlsx", "ods", "pdf", "csv", "tsv"],
        ["application/vnd.google-apps.presentation"] = ["pptx", "odp", "pdf", "txt"],
        ["application/vnd.google-apps.drawing"] = ["svg", "png", "jpg", "pdf"],
        ["application/vnd.google-apps.script"] = ["json"],
    };

    /// <summary>Reads an <c>export_formats</c> setting: extensions, comma-separated, in order of preference; empty for none.</summary>
    public static IReadOnlyList<string> ParseFormats(string text, string where)
    {
        var formats = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(f => f.TrimStart('.').ToLowerInvariant()).ToList();
        foreach (var format in formats)
            if (!MimeTypes.ContainsKey(format))
                throw new LoadPipeException(ErrorKind.Usage,
                    $"{where}: export_formats: '{format}' is not a format Drive exports to (one of {string.Join(", ", MimeTypes.Keys)})");
        return formats;
    }

    /// <summary>The format a document of kind <paramref name="documentMimeType"/> is listed in: the first preferred one its
    /// kind allows; null when none does.</summary>
    public static string? Preferred(string? documentMimeType, IReadOnlyList<string> preferred) =>
        documentMimeType is not null && Kinds.TryGetValue(documentMimeType, out var allowed) ? preferred.FirstOrDefault(allowed.Contains) : null;

    /// <summary>Whether a document of this kind can be exported to <paramref name="extension"/>, asked for by name.</summary>
    public static bool Allows(string? documentMimeType, string extension) =>
        documentMimeType is not null && Kinds.TryGetValue(documentMimeType, out var allowed) && allowed.Contains(extension);

    public static string MimeTypeOf(string extension) => MimeTypes[extension];

    /// <summary>"Report.docx" -> ("Report", "docx") when the extension is a known format; null otherwise.</summary>
    public static (string Stem, string Extension)? Split(string name)
    {
        var dot = name.LastIndexOf('.');
        if (dot <= 0 || dot == name.Length - 1) return null;
        var extension = name[(dot + 1)..].ToLowerInvariant();
        return MimeTypes.ContainsKey(extension) ? (name[..dot], extension) : null;
    }

    /// <summary>An export's version: made afresh on each request, it is only as stable as the document's modifiedTime.</summary>
    public static string Version(DriveFile document, string extension) =>
        $"export:{extension}:{document.ModifiedTime?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? document.Id}";
}
