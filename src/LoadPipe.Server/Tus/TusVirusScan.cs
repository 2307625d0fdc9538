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
/// come from different connections, processes and days, so it is scanned once whole, when its last byte is written and
/// before the completion makes it an object (<see cref="Check"/>; a concatenation's final, made whole by the server, is
/// scanned once it is an object, <see cref="CheckAsync"/>), before the last PATCH is answered. A file clamd flags is removed with its upload, and the PATCH gets 422
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

    /// <summary>True when the completed <paramref name="upload"/> may be reported stored; otherwise it is removed and the
    /// refusal is written.</summary>
    public static async Task<bool> CheckAsync(HttpContext context, TusStore store, IUploads uploads, Upload upload, ILogger logger)
    {
        if (store.ClamAv is not { } clamav || upload.Intermediate || !upload.Metadata.TryGetValue(UploadMetadata.ObjectKey, out var name)) return true;
        var target = store.Destination.Child(name);
        Exception refusal;
        try
        {
            // Not the request's token: a client gone after its last byte still leaves a file that must be judged.
            if (await ScanAsync(clamav, target.Storage, target.Path, CancellationToken.None).ConfigureAwait(false) is not { } found) return true;
            Log.VirusFound(logger, name, found);
            refusal = new VirusFoundException(found);
        }
        catch (ClamAvException e)
        {
            if (clamav.FailOpen)
            {
                Log.ScanSkipped(logger, name, e.Message);
                return true;
            }
            refusal = e;
        }
        if (target.Storage is IObjectRemover remover) await remover.RemoveAsync(target.Path, CancellationToken.None).ConfigureAwait(false);
        await RefuseAsync(context, uploads, upload, refusal).ConfigureAwait(false);
        return false;
    }

    /// <summary>Streams the object at <paramref name="path"/> to clamd; the name of what it found, or null when clean.</summary>
    private static async Task<string?> ScanAsync(ClamAvSettings clamav, IStorage storage, string path, CancellationToken cancellationToken)
    {
        var read = await storage.OpenReadAsync(path, new ReadOptions(), cancellationToken).ConfigureAwait(false);
        await using (read.ConfigureAwait(false))
            return await ScanStreamAsync(clamav, read, cancellationToken).ConfigureAwait(false);
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
