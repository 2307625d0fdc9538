using System.Buffers;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Validation;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

/// <summary>
/// The ingest API's virus scan (`server.ingest.clamav`) for tus uploads too: a tus upload arrives in PATCHes that may
/// come from different connections, processes and days, so it is scanned once whole, when its last byte made it an
/// object, before the last PATCH is answered. A file clamd flags is removed with its upload, and the PATCH gets 422
/// (tus leaves the status of a refused upload to the server, as tusd's pre-finish hook does): the client is never told
/// it was stored, and a HEAD then answers 404. A scan that cannot be made removes the upload too and answers 503,
/// unless `fail_open`. Partial uploads (concatenation) are scanned as their final upload.
/// </summary>
internal static class TusVirusScan
{
    /// <summary>True when the completed <paramref name="upload"/> may be reported stored; otherwise it is removed and the
    /// refusal is written.</summary>
    public static async Task<bool> CheckAsync(HttpContext context, TusStore store, IUploads uploads, Upload upload, ILogger logger)
    {
        if (store.ClamAv is not { } clamav || upload.Intermediate || !upload.Metadata.TryGetValue(UploadMetadata.ObjectKey, out var name)) return true;
        var target = store.Destination.Child(name);
        string? found = null;
        string? failure = null;
        try
        {
            // Not the request's token: a client gone after its last byte still leaves a file that must be judged.
            found = await ScanAsync(clamav, target.Storage, target.Path, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ClamAvException e)
        {
            failure = e.Message;
        }
        if (failure is not null && clamav.FailOpen)
        {
            Log.ScanSkipped(logger, name, failure);
            return true;
        }
        if (found is null && failure is null) return true;

        if (target.Storage is IObjectRemover remover) await remover.RemoveAsync(target.Path, CancellationToken.None).ConfigureAwait(false);
        await uploads.AbortAsync(upload.Id, CancellationToken.None).ConfigureAwait(false);
        context.Response.Headers.Remove(TusHeaders.UploadOffset);
        context.Response.Headers.Remove(TusHeaders.UploadExpires);
        if (found is not null)
        {
            Log.VirusFound(logger, name, found);
            await Problem.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, $"the virus scanner found {found} in the upload: it was removed, nothing is stored").ConfigureAwait(false);
        }
        else
        {
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, $"the upload could not be scanned for viruses ({failure}): it was removed, nothing is stored").ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>Streams the object at <paramref name="path"/> to clamd; the name of what it found, or null when clean.</summary>
    private static async Task<string?> ScanAsync(ClamAvSettings clamav, IStorage storage, string path, CancellationToken cancellationToken)
    {
        await using var scan = await ClamAvScan.StartAsync(clamav, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(256 << 10);
        try
        {
            var read = await storage.OpenReadAsync(path, new ReadOptions(), cancellationToken).ConfigureAwait(false);
            await using (read.ConfigureAwait(false))
            {
                int n;
                while ((n = await read.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    await scan.SendAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return (await scan.FinishAsync(cancellationToken).ConfigureAwait(false)).Found;
    }
}
