using System.Globalization;
using LoadPipe.Core.Uploads;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Server.Tus;

/// <summary>
/// tus 1.0.0, Core Protocol, OPTIONS: "An OPTIONS request MAY be used to gather information about the Server's current
/// configuration. A successful response indicated by the 204 No Content or 200 OK status MUST contain the Tus-Version
/// header. It MAY include the Tus-Extension and Tus-Max-Size headers." Checksum: "The Tus-Checksum-Algorithm header MUST be
/// included in the response to an OPTIONS request." Needs no token: a client learns here what it may do.
/// </summary>
internal static class TusOptionsHandler
{
    public static Task HandleAsync(HttpContext context, TusStore store)
    {
        var headers = context.Response.Headers;
        headers[TusHeaders.TusVersion] = TusHeaders.Version;
        headers[TusHeaders.Extension] = TusHeaders.Extensions;
        headers[TusHeaders.MaxSize] = store.Settings.MaxSize.ToString(CultureInfo.InvariantCulture);
        headers[TusHeaders.ChecksumAlgorithm] = string.Join(',', BodyChecksum.Algorithms);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
