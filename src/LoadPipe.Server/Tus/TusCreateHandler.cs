using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Validation;
using LoadPipe.Server.Metrics;
using LoadPipe.Server.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

/// <summary>
/// tus 1.0.0, Creation, POST: "The Client MUST send a POST request against a known upload creation URL to request a new
/// upload resource. The request MUST include one of the following headers: a) Upload-Length to indicate the size of an
/// entire upload in bytes. b) Upload-Defer-Length: 1 if upload size is not known at the time ... If the length of the
/// upload exceeds the maximum, which MAY be specified using the Tus-Max-Size header, the Server MUST respond with the
/// 413 Request Entity Too Large status. The Server MUST acknowledge a successful upload creation with the 201 Created
/// status. The Server MUST set the Location header to the URL of the created resource."
/// Creation With Upload: "The Client MUST include the Content-Type: application/offset+octet-stream header. The Server
/// SHOULD accept as many bytes as possible and MUST include the Upload-Offset header in the response".
/// Expiration: "If the expiration is known at the creation, the Upload-Expires header MUST be included in the response
/// to the initial POST request." Concatenation: see <see cref="CreateFinalAsync"/>.
/// </summary>
internal static class TusCreateHandler
{
    public static async Task HandleAsync(HttpContext context, TusStore store, ServerMetrics metrics, ILogger logger)
    {
        var headers = context.Request.Headers;
        var concat = headers[TusHeaders.UploadConcat].ToString();
        var final = concat.StartsWith("final;", StringComparison.Ordinal);
        if (concat.Length > 0 && concat != "partial" && !final)
        {
            await Problem.WriteAsync(context, 400, "Upload-Concat must be 'partial' or 'final;URL URL ...'").ConfigureAwait(false);
            return;
        }
        var metadata = UploadMetadata.Parse(headers[TusHeaders.UploadMetadata].ToString(), out var metadataError);
        if (metadata is null)
        {
            await Problem.WriteAsync(context, 400, metadataError).ConfigureAwait(false);
            return;
        }
        string? filename = null;
        if (metadata.TryGetValue("filename", out var encodedName) && encodedName.Length > 0)
        {
            filename = UploadMetadata.DecodeText(encodedName);
            var nameProblem = filename is null ? "the filename is not UTF-8 text" : ObjectNames.Problem(filename);
            if (nameProblem is not null)
            {
                await Problem.WriteAsync(context, 400, "Upload-Metadata: " + nameProblem).ConfigureAwait(false);
                return;
            }
        }

        var length = TusRequest.NonNegative(context, TusHeaders.UploadLength);
        var deferred = headers[TusHeaders.UploadDeferLength].ToString();
        var hasBody = context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        if (final)
        {
            // Concatenation: "The Client MUST NOT include the Upload-Length header in the final upload creation."
            if (length is not null || deferred.Length > 0 || hasBody)
            {
                await Problem.WriteAsync(context, 400, "a final upload (Upload-Concat: final) takes no Upload-Length, Upload-Defer-Length or body").ConfigureAwait(false);
                return;
            }
        }
        else if (length is < 0 || (length is null) == (deferred.Length == 0) || (deferred.Length > 0 && deferred != "1"))
        {
            await Problem.WriteAsync(context, 400, length is < 0
                ? "Upload-Length must be a non-negative integer"
                : "give either Upload-Length or Upload-Defer-Length: 1").ConfigureAwait(false);
            return;
        }
        if (length > store.Settings.MaxSize)
        {
            await Problem.WriteAsync(context, 413, $"Upload-Length is above Tus-Max-Size ({store.Settings.MaxSize})").ConfigureAwait(false);
            return;
        }
        if (hasBody && !TusPatchHandler.IsOffsetStream(context.Request))
        {
            await Problem.WriteAsync(context, 415, $"a body sent with the creation needs Content-Type: {TusHeaders.OffsetOctetStream}").ConfigureAwait(false);
            return;
        }

        var uploads = await store.UploadsAsync(context.RequestAborted).ConfigureAwait(false);
        var id = TusStore.NewId();
        if (!final)
        {
            await CreateAsync(context, store, uploads, id, concat, metadata, filename, length, hasBody, [], metrics, logger).ConfigureAwait(false);
            return;
        }
        var partials = await PartialsAsync(context, uploads, concat["final;".Length..]).ConfigureAwait(false) ?? [];
        if (partials.Count == 0) return;
        length = partials.Sum(p => p.Length!.Value);
        if (length > store.Settings.MaxSize)
        {
            await Problem.WriteAsync(context, 413, $"the partial uploads add up to more than Tus-Max-Size ({store.Settings.MaxSize})").ConfigureAwait(false);
            return;
        }
        // A partial is joined into one final upload: the final removes it once whole. Another final naming it meanwhile
        // is refused (409), and one that comes after finds it gone (400, as for any URL that is not an upload here).
        if (store.ClaimPartials(partials.Select(p => p.Id), id) is { } busy)
        {
            await Problem.WriteAsync(context, StatusCodes.Status409Conflict,
                $"partial upload {busy} is being joined into another final upload: a partial upload is used by one final upload only").ConfigureAwait(false);
            return;
        }
        try
        {
            // Claimed after it was looked up: a final that held it until now has removed it.
            foreach (var partial in partials)
            {
                if (await uploads.GetAsync(partial.Id, context.RequestAborted).ConfigureAwait(false) is null)
                {
                    await Problem.WriteAsync(context, StatusCodes.Status400BadRequest,
                        $"partial upload {partial.Id} was joined into another final upload, which removed it").ConfigureAwait(false);
                    return;
                }
            }
            await CreateAsync(context, store, uploads, id, concat, metadata, filename, length, hasBody, partials, metrics, logger).ConfigureAwait(false);
        }
        finally
        {
            store.ReleasePartials(partials.Select(p => p.Id), id);
        }
    }

    private static async Task CreateAsync(HttpContext context, TusStore store, IUploads uploads, string id, string concat,
        Dictionary<string, string> metadata, string? filename, long? length, bool hasBody, IReadOnlyList<Upload> partials,
        ServerMetrics metrics, ILogger logger)
    {
        var final = partials.Count > 0;
        if (concat.Length > 0) metadata[UploadMetadata.ConcatKey] = concat;
        var request = new NewUpload
        {
            Id = id,
            Destination = store.Staging.Child(id),
            Length = length,
            Metadata = metadata,
            Expires = store.Time.GetUtcNow() + store.Settings.Expiration,
            // A partial's object waits in staging for a final upload; it goes once one used it, or when it expires.
            Intermediate = concat == "partial",
        };
        var upload = concat == "partial"
            ? await uploads.CreateAsync(request, context.RequestAborted).ConfigureAwait(false)
            : await store.CreateNamedAsync(uploads, filename, request, context.RequestAborted).ConfigureAwait(false);
        metrics.UploadCreated();
        Log.UploadCreated(logger, id, Core.Locations.Location.Display(upload.Destination));
        context.Response.Headers.Location = TusRequest.UrlOf(context, id);
        TusRequest.WriteExpires(context.Response, upload);

        if (final)
        {
            string? gone;
            try
            {
                gone = await CreateFinalAsync(store, uploads, upload, partials, metrics, logger, context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is VirusFoundException or ClamAvException)
            {
                // The joined file was refused before its completion: nothing was made. Its partials go with it when they
                // hold a virus; when the scan could not be made they stay, for the client to ask for the final again.
                context.Response.Headers.Location = default;
                if (e is VirusFoundException) await DropPartialsAsync(uploads, partials, logger).ConfigureAwait(false);
                await TusVirusScan.RefuseAsync(context, uploads, upload, e).ConfigureAwait(false);
                return;
            }
            if (gone is not null)
            {
                context.Response.Headers.Remove(TusHeaders.UploadExpires);
                context.Response.Headers.Location = default;
                await Problem.WriteAsync(context, StatusCodes.Status409Conflict,
                    $"partial upload {gone} was joined into another final upload meanwhile: a partial upload is used by one final upload only").ConfigureAwait(false);
                return;
            }
        }
        else if (hasBody)
        {
            // Creation With Upload: the body is the first PATCH's.
            if (await TusPatchHandler.AppendAsync(context, store, uploads, upload, 0, metrics, logger).ConfigureAwait(false) is null) return;
        }
        else if (length == 0)
        {
            // Nothing will ever be appended: the empty object is made now.
            TusPatchHandler.Completed(store, await uploads.CompleteAsync(id, context.RequestAborted).ConfigureAwait(false), metrics, logger);
        }
        context.Response.StatusCode = StatusCodes.Status201Created;
    }

    /// <summary>
    /// The partial uploads a final one names, in order: each must exist, be partial and finished (this server does not
    /// offer concatenation-unfinished). Null after writing the refusal. Concatenation, Upload-Concat: "The partial uploads
    /// URLs MAY be absolute or relative".
    /// </summary>
    private static async Task<IReadOnlyList<Upload>?> PartialsAsync(HttpContext context, IUploads uploads, string list)
    {
        var result = new List<Upload>();
        foreach (var url in list.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath : url;
            var prefix = context.Request.PathBase + TusEndpoints.Prefix;
            var id = path.StartsWith(prefix, StringComparison.Ordinal) ? path[prefix.Length..] : "";
            var partial = id.Length > 0 && !id.Contains('/', StringComparison.Ordinal)
                ? await uploads.GetAsync(id, context.RequestAborted).ConfigureAwait(false)
                : null;
            var problem = partial is null ? $"{url} is not an upload of this server"
                : !TusRequest.IsPartial(partial) ? $"{url} is not a partial upload (Upload-Concat: partial)"
                : partial.Status != UploadStatus.Completed ? $"{url} is not finished (concatenation-unfinished is not offered)"
                : null;
            if (problem is not null)
            {
                await Problem.WriteAsync(context, 400, problem).ConfigureAwait(false);
                return null;
            }
            result.Add(partial!);
        }
        if (result.Count == 0) await Problem.WriteAsync(context, 400, "Upload-Concat: final names no partial upload").ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Concatenation: "Multiple partial uploads are concatenated into a final upload in the specified order ... The length
    /// of the final upload MUST be the sum of the length of all partial uploads." Each partial's bytes are read back from
    /// the staging place they were stored in and appended through the push entry, so the final object is made, hashed and
    /// recorded as any upload is. Then the partials go, their staging objects and their state: "The Server MAY delete
    /// partial uploads after concatenation." (Those no final ever uses go when they expire, through the sweeper.)
    /// </summary>
    /// <para>Returns null, or the id of a partial upload that another process sharing the manifest joined into its own
    /// final upload meanwhile (and removed): this final is then dropped.</para>
    private static async Task<string?> CreateFinalAsync(TusStore store, IUploads uploads, Upload final, IReadOnlyList<Upload> partials,
        ServerMetrics metrics, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var offset = 0L;
            var upload = final;
            // The joined file is scanned whole before the append that ends it completes it, as a PATCHed one is: a
            // refused final is never completed (the check runs only on the append that reaches the length).
            var options = new AppendOptions { CheckWhole = TusVirusScan.Check(store, final, logger) };
            foreach (var partial in partials)
            {
                if (partial.Length == 0) continue;
                var source = store.Staging.Child(partial.Id);
                var stream = await source.Storage.OpenReadAsync(source.Path, Core.Storage.ReadOptions.FromStart, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                    upload = await uploads.AppendAsync(final.Id, offset, stream, options, cancellationToken).ConfigureAwait(false);
                offset = upload.Offset;
            }
            if (upload.Status != UploadStatus.Completed) upload = await uploads.CompleteAsync(final.Id, cancellationToken).ConfigureAwait(false);
            TusPatchHandler.Completed(store, upload, metrics, logger);
        }
        catch
        {
            // Half a final upload is of no use to anyone: it goes, and the client may ask again.
            await uploads.AbortAsync(final.Id, CancellationToken.None).ConfigureAwait(false);
            foreach (var partial in partials)
            {
                if (await uploads.GetAsync(partial.Id, CancellationToken.None).ConfigureAwait(false) is null) return partial.Id;
            }
            throw;
        }
        await DropPartialsAsync(uploads, partials, logger).ConfigureAwait(false);
        return null;
    }

    /// <summary>Removes the partial uploads a final one used (or refused); one that cannot be removed now is the sweeper's
    /// once it expires.</summary>
    private static async Task DropPartialsAsync(IUploads uploads, IReadOnlyList<Upload> partials, ILogger logger)
    {
        foreach (var id in partials.Select(p => p.Id).Distinct(StringComparer.Ordinal))
        {
            try
            {
                await uploads.AbortAsync(id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Core.Errors.LoadPipeException e)
            {
                Log.PartialNotRemoved(logger, id, e.Message);
            }
        }
    }
}
