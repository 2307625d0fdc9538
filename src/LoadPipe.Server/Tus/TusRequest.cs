using System.Globalization;
using LoadPipe.Core.Uploads;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Server.Tus;

/// <summary>What the handlers read from a request and write on a response, the same way in each.</summary>
internal static class TusRequest
{
    public static string Id(HttpContext context) => (string)context.Request.RouteValues["id"]!;

    /// <summary>A header that must be a non-negative integer ("Upload-Offset ... MUST be a non-negative integer", likewise
    /// Upload-Length): the value, null when absent, or -1 when present but not such an integer.</summary>
    public static long? NonNegative(HttpContext context, string header)
    {
        if (!context.Request.Headers.TryGetValue(header, out var values)) return null;
        return values.Count == 1 && long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;
    }

    /// <summary>The URL of an upload, absolute, as Location and Upload-Concat give it.</summary>
    public static string UrlOf(HttpContext context, string id)
    {
        var request = context.Request;
        return $"{request.Scheme}://{request.Host}{request.PathBase}{TusEndpoints.Prefix}{id}";
    }

    /// <summary>The headers HEAD, PATCH and POST share: Upload-Expires while the upload may still expire.</summary>
    public static void WriteExpires(HttpResponse response, Upload upload)
    {
        if (upload.Status == UploadStatus.Open && upload.Expires is { } expires)
            // "The value of the Upload-Expires header MUST be in RFC 9110 datetime format": IMF-fixdate, what "R" writes.
            response.Headers[TusHeaders.UploadExpires] = expires.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture);
    }

    public static string? Concat(Upload upload) => upload.Metadata.GetValueOrDefault(UploadMetadata.ConcatKey);

    public static bool IsFinal(Upload upload) => Concat(upload)?.StartsWith("final", StringComparison.Ordinal) == true;

    public static bool IsPartial(Upload upload) => Concat(upload) == "partial";

    /// <summary>The name the upload holds at the destination (released when it is finished or gone).</summary>
    public static string? ObjectName(Upload upload) => upload.Metadata.GetValueOrDefault(UploadMetadata.ObjectKey);
}
