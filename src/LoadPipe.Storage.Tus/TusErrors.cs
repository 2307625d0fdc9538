using System.Net;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// Maps a tus server's answer to a named error: 401/403 Auth; 404/410 NotFound; 408, 429 and 5xx Transient (with
/// Retry-After); 460 ("Checksum": "460 Checksum Mismatch", the chunk was discarded) Transient, as the chunk is sent
/// again; 412 ("Tus-Resumable": the server speaks another version), 413 ("Creation": larger than Tus-Max-Size) and
/// any other 4xx Permanent. Messages name the object and the request, never an upload URL.
/// </summary>
internal static class TusErrors
{
    public static LoadPipeException FromResponse(HttpResponseMessage response, string what)
    {
        var status = (int)response.StatusCode;
        var message = response.StatusCode switch
        {
            HttpStatusCode.PreconditionFailed => $"{what}: the server does not speak tus {TusProtocol.Version} (412; it speaks {Header(response, "Tus-Version") ?? "another version"})",
            HttpStatusCode.RequestEntityTooLarge => $"{what}: the upload is larger than the server takes (413; Tus-Max-Size {Header(response, "Tus-Max-Size") ?? "not given"})",
            (HttpStatusCode)460 => $"{what}: the server found the chunk's checksum wrong (460 Checksum Mismatch); it is sent again",
            _ => $"{what}: HTTP {status} {OneLine(response.ReasonPhrase ?? "")}".TrimEnd(),
        };
        var kind = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => ErrorKind.Auth,
            HttpStatusCode.NotFound or HttpStatusCode.Gone => ErrorKind.NotFound,
            HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or (HttpStatusCode)460 => ErrorKind.Transient,
            _ when status >= 500 => ErrorKind.Transient,
            _ => ErrorKind.Permanent,
        };
        return new LoadPipeException(kind, message) { RetryAfter = RetryAfter(response) };
    }

    /// <summary>Text from a server or an exception as one line, at most 200 characters.</summary>
    public static string OneLine(string text)
    {
        var line = string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length > 200 ? line[..200] + "..." : line;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) ? OneLine(values.ToString()) : null;

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
