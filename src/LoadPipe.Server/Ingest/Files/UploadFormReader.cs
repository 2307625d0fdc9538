using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// The multipart/form-data of `POST /api/files/upload`, single or one part of a session: every section must be
/// form-data; a section with a filename is the file, which must come in the field `file`, once; the other fields go to
/// the <see cref="UploadForm"/> as they come (before or after the file). 400 invalid_request for a form that breaks
/// these rules, 400 missing_file for one without a file.
/// </summary>
internal static class UploadFormReader
{
    /// <summary>Reads the form to its end, handing the file section (with its sanitised-later filename) to
    /// <paramref name="takeFile"/>, which reads its body; <paramref name="secondFile"/> is the message that refuses another.</summary>
    public static async Task ReadAsync(HttpContext context, string boundary, UploadForm form, Func<MultipartSection, string, Task> takeFile,
        string secondFile, CancellationToken cancellationToken)
    {
        var reader = new MultipartReader(boundary, context.Request.Body) { HeadersLengthLimit = 16 << 10 };
        var hadFile = false;
        while (await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                throw new IngestException(400, IngestErrors.InvalidRequest, "every part of the form needs Content-Disposition: form-data");
            var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            // A part with a filename parameter is a file even when the name is empty (refused below as such).
            if (disposition.FileName.HasValue || disposition.FileNameStar.HasValue)
            {
                if (name != "file") throw new IngestException(400, IngestErrors.InvalidRequest, $"a file came in the field '{name}': send it as 'file'");
                if (hadFile) throw new IngestException(400, IngestErrors.InvalidRequest, secondFile);
                hadFile = true;
                var filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
                await takeFile(section, filename).ConfigureAwait(false);
                continue;
            }
            form.Take(name, await UploadHandler.ReadFieldAsync(section.Body, name, cancellationToken).ConfigureAwait(false));
        }
        if (!hadFile) throw new IngestException(400, IngestErrors.MissingFile, "the form has no 'file' part");
    }
}
