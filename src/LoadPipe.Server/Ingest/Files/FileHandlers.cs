using System.Globalization;
using LoadPipe.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>`GET /api/files/{id}`, `GET /api/files/{id}/content` and `DELETE /api/files/{id}`.</summary>
internal static class FileHandlers
{
    public static async Task GetAsync(HttpContext context, IngestService ingest)
    {
        var record = await FindAsync(context, ingest).ConfigureAwait(false);
        await context.Response.WriteAsJsonAsync(record, IngestJson.Default.FileRecord, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The file's bytes, as uploaded (a compressed object is decompressed on the way). A single `Range: bytes=A-B` (or `A-`, or `-N`) gets 206 with those bytes, read from the
    /// element at that offset where the store can (else skipped); a range past the end gets 416; several ranges get
    /// the whole file (RFC 9110 lets a server ignore Range).</summary>
    public static async Task ContentAsync(HttpContext context, IngestService ingest)
    {
        var cancellationToken = context.RequestAborted;
        var record = await FindAsync(context, ingest).ConfigureAwait(false);
        var element = ingest.Elements.Find(record.StorageElementId)
            ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, $"the storage element {record.StorageElementId} of this file is not known now");
        var size = record.SizeBytes;
        var response = context.Response;
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = $"\"{record.Sha256Hash}\"";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = record.OriginalFilename }.ToString();
        var (start, length) = (0L, size);
        if (Range(context.Request, size) is { } range)
        {
            if (range.Start < 0)
            {
                response.Headers.ContentRange = $"bytes */{size}";
                throw new IngestException(416, IngestErrors.RangeNotSatisfiable, $"the range is outside the file's {size} bytes");
            }
            (start, length) = range;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {start}-{start + length - 1}/{size}");
        }
        var path = element.Location.Child(record.StorageFilename).Path;
        var storage = element.Location.Storage;
        // A compressed object is read from its start and decompressed; a range is then skipped up to in the original bytes.
        var seek = storage is IRangedReader && record.Compression is null ? start : 0;
        await using var stored = await storage.OpenReadAsync(path, new ReadOptions(seek), cancellationToken).ConfigureAwait(false);
        await using var stream = record.Compression is { } compression ? Compression.StoredCompression.Decompress(stored, compression) : stored;
        response.ContentType = record.MimeType;
        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method)) return;
        await ingest.Audit.WriteAsync(context, "download", "success", record.FileId, element.Id).ConfigureAwait(false);
        var buffer = new byte[81920];
        for (var skip = start - seek; skip > 0;)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, skip)), cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            skip -= n;
        }
        for (var left = length; left > 0;)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
            if (n == 0) throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Integrity, $"file {record.FileId}: the stored object ends before its recorded {size} bytes");
            await response.Body.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            left -= n;
        }
    }

    /// <summary>204 once the object, its sidecar and its record are gone; only from an `edit` element (400
    /// file_in_readonly_storage otherwise). The delete saga removes the sidecar, then the record, then the object:
    /// the one step that cannot be undone comes last, so a failure before it puts the sidecar and the record back.</summary>
    public static async Task DeleteAsync(HttpContext context, IngestService ingest)
    {
        var cancellationToken = context.RequestAborted;
        FileRecord? record = null;
        try
        {
            record = await FindAsync(context, ingest).ConfigureAwait(false);
            var element = ingest.Elements.Find(record.StorageElementId)
                ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, $"the storage element {record.StorageElementId} of this file is not known now");
            if (!element.Editable)
                throw new IngestException(400, IngestErrors.FileInReadonlyStorage, $"Cannot delete file from read-only Storage Element ({element.Id} is in {element.Config.Mode} mode)");
            if (element.Location.Storage is not IObjectRemover remover)
                throw new IngestException(400, IngestErrors.FileInReadonlyStorage, $"the storage element {element.Id} ({element.Location.Storage.Description}) cannot delete objects");
            var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
            var sidecar = new Sidecars(element);
            var file = record;
            await ingest.Sagas.RunAsync("delete", file.FileId,
            [
                new("attr.json", ct => sidecar.RemoveAsync(file, ct), ct => sidecar.WriteAsync(file, ct)),
                new("record", ct => records.DeleteAsync(file.FileId, ct), ct => records.PutAsync(file, ct)),
                new("file", ct => element.RunAsync(c => new ValueTask<bool>(remover.RemoveAsync(element.Location.Child(file.StorageFilename).Path, c)), ct).AsTask()),
                new("audit", _ => ingest.Audit.WriteAsync(context, "delete", "success", file.FileId, element.Id)),
            // Not the request's token, as for an upload: a client gone must not stop the saga half-way; its timeout bounds it.
            ], ["check"], CancellationToken.None).ConfigureAwait(false);
            element.AddUsed(-record.BytesAtElement);
            Log.FileDeleted(ingest.Logger, record.FileId, element.Id);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
        catch (Exception e)
        {
            await ingest.Audit.WriteAsync(context, "delete", "failure", record?.FileId, record?.StorageElementId,
                e is IngestException refusal ? refusal.Code : e is Sagas.SagaFailedException saga ? $"saga failed at {saga.Step}" : e.GetType().Name).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<FileRecord> FindAsync(HttpContext context, IngestService ingest)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        if (!Guid.TryParseExact(id, "D", out _)) throw new IngestException(404, IngestErrors.FileNotFound, $"no file {Trim(id)}");
        var records = await ingest.RecordsAsync(context.RequestAborted).ConfigureAwait(false);
        return await records.GetAsync(id, context.RequestAborted).ConfigureAwait(false)
            ?? throw new IngestException(404, IngestErrors.FileNotFound, $"no file {id}");
    }

    private static string Trim(string id) => id.Length > 64 ? id[..64] + "..." : id;

    /// <summary>The one range asked for, as (start, length); (-1, 0) when it cannot be satisfied; null when there is no
    /// usable Range header (none, not bytes, several ranges, malformed).</summary>
    private static (long Start, long Length)? Range(HttpRequest request, long size)
    {
        var header = request.Headers.Range.ToString();
        if (header.Length == 0 || !RangeHeaderValue.TryParse(header, out var parsed) || parsed.Unit != "bytes" || parsed.Ranges.Count != 1) return null;
        var range = parsed.Ranges.First();
        if (range.From is { } from)
        {
            if (from >= size) return (-1, 0);
            var to = range.To is { } t ? Math.Min(t, size - 1) : size - 1;
            return to < from ? null : (from, to - from + 1);
        }
        if (range.To is { } suffix)
        {
            if (suffix == 0 || size == 0) return (-1, 0);
            var length = Math.Min(suffix, size);
            return (size - length, length);
        }
        return null;
    }
}
