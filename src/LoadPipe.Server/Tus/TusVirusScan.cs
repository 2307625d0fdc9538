using System.Buffers;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Validation;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

/// <summary>
/// The ingest API's virus scan (`server.ingest.clamav`) for tus uploads too: a tus upload arrives in PATCHes that may
/// come from different connections, processes and days, so it is scanned once whole, when its last byte is written and
/// before the completion makes it an object (<see cref="Check"/>), before the last PATCH is answered: the PATCH that
/// brings the last byte or declares the length at the offset, the POST of a concatenation's final (which joins its
/// partials), and a HEAD that completes an upload whose completion failed. A file clamd flags is removed with its upload, and the PATCH gets 422
/// (tus leaves the status of a refused upload to the server, as tusd's pre-finish hook does): the client is never told
/// it was stored, and a HEAD then answers 404. A scan that cannot be made removes the upload too and answers 503,
/// unless `fail_open`. Partial uploads (concatenation) are scanned as their final upload.
/// </summary>
internal static class TusVirusScan
{
    /// <summary>The scan as the push entry's check of the whole file (<see cref="AppendOptions.CheckWhole"/>): it runs
    /// over the written bytes before the completion, so a file clamd flags is never completed, a crash during the scan
    /// included (the last PATCH is then simply not recorded, and the client sends it again). Null when no scan applies:
    /// ClamAV off, or a partial upload of a concatenation (its final is scanned). Throws <see cref="VirusFoundException"/>
    /// or <see cref="ClamAvException"/>; a scan that cannot be made passes under `fail_open`.</summary>
    public static Func<Stream, CancellationToken, Task>? Check(TusStore store, Upload upload, ILogger logger)
    {
        if (store.ClamAv is not { } clamav || upload.Intermediate || !upload.Metadata.TryGetValue(UploadMetadata.ObjectKey, out var name)) return null;
        return async (whole, cancellationToken) =>
        {
            string? found;
            try
            {
                found = await ScanStreamAsync(clamav, whole, cancellationToken).ConfigureAwait(false);
            }
            catch (ClamAvException e) when (clamav.FailOpen)
            {
                Log.ScanSkipped(logger, name, e.Message);
                return;
            }
            if (found is not null)
            {
                Log.VirusFound(logger, name, found);
                throw new VirusFoundException(found);
            }
        };
    }

    /// <summary>Answers an append whose check refused the file (<see cref="VirusFoundException"/> or
    /// <see cref="ClamAvException"/>): the upload is removed (nothing was completed), and the PATCH gets 422 for a virus
    /// or 503 for a scan that could not be made.</summary>
    public static async Task RefuseAsync(HttpContext context, IUploads uploads, Upload upload, Exception e)
    {
        await uploads.AbortAsync(upload.Id, CancellationToken.None).ConfigureAwait(false);
        context.Response.Headers.Remove(TusHeaders.UploadOffset);
        context.Response.Headers.Remove(TusHeaders.UploadExpires);
        if (e is VirusFoundException virus)
            await Problem.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, $"the virus scanner found {virus.Found} in the upload: it was removed, nothing is stored").ConfigureAwait(false);
        else
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, $"the upload could not be scanned for viruses ({e.Message}): it was removed, nothing is stored").ConfigureAwait(false);
    }

    /// <summary>Streams <paramref name="read"/> to clamd; the name of what it found, or null when clean.</summary>
    private static async Task<string?> ScanStreamAsync(ClamAvSettings clamav, Stream read, CancellationToken cancellationToken)
    {
        await using var scan = await ClamAvScan.StartAsync(clamav, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(256 << 10);
        try
        {
            int n;
            while ((n = await read.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                await scan.SendAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return (await scan.FinishAsync(cancellationToken).ConfigureAwait(false)).Found;
    }
}

/// <summary>clamd found <see cref="Found"/> in a tus upload's bytes.</summary>
internal sealed class VirusFoundException(string found) : Exception($"the virus scanner found {found}")
{
    public string Found { get; } = found;
}
