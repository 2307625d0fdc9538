using LoadPipe.Server.Ingest.Sagas;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using System.Text.Json.Serialization;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>One file's outcome in a batch.</summary>
public sealed record BatchResult(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("file_id")] string? FileId = null,
    [property: JsonPropertyName("size_bytes")] long? SizeBytes = null,
    [property: JsonPropertyName("error")] string? Error = null,
    [property: JsonPropertyName("message")] string? Message = null);

public sealed record BatchSummary(
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("failed")] int Failed);

public sealed record BatchBody(
    [property: JsonPropertyName("results")] IReadOnlyList<BatchResult> Results,
    [property: JsonPropertyName("summary")] BatchSummary Summary);

/// <summary>
/// `POST /api/files/batch/upload`: up to `max_batch_files` files (default 100) and `max_batch_size` bytes (default 1G)
/// in one multipart form (fields `files` or `file`; a `metadata` field before them applies to each). Each file is
/// streamed, validated and stored as a single upload is, one after the other as the body brings them; one file's
/// refusal does not stop the others: 207 with one result per file and a summary. A batch over either limit is refused
/// whole (400 too_many_files, 413 batch_too_large), and the files it stored before the limit showed are removed.
/// </summary>
internal static class BatchUploadHandler
{
    public static async Task HandleAsync(HttpContext context, IngestService ingest)
    {
        var cancellationToken = context.RequestAborted;
        var settings = ingest.Settings;
        var boundary = UploadHandler.Boundary(context.Request);
        var sizeLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is { IsReadOnly: false }) sizeLimit.MaxRequestBodySize = settings.MaxBatchSize + UploadHandler.FormOverhead;
        var form = new UploadForm(null, null);
        var reader = new MultipartReader(boundary, context.Request.Body) { HeadersLengthLimit = 16 << 10 };
        var results = new List<BatchResult>();
        var stored = new List<FileRecord>();
        long total = 0;
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                    throw new IngestException(400, IngestErrors.InvalidRequest, "every part of the form needs Content-Disposition: form-data");
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (!disposition.FileName.HasValue && !disposition.FileNameStar.HasValue)
                {
                    form.Take(name, await UploadHandler.ReadFieldAsync(section.Body, name, cancellationToken).ConfigureAwait(false));
                    continue;
                }
                if (results.Count == settings.MaxBatchFiles)
                    throw new IngestException(400, IngestErrors.TooManyFiles, $"a batch holds at most {settings.MaxBatchFiles} files: nothing of it was kept");
                var filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
                var perFile = ingest.Settings with { MaxFileSize = Math.Min(settings.MaxFileSize, settings.MaxBatchSize - total) };
                try
                {
                    var record = await UploadOneAsync(context, ingest, perFile, section.Body, filename, form, cancellationToken).ConfigureAwait(false);
                    stored.Add(record);
                    total += record.SizeBytes;
                    results.Add(new BatchResult(filename, "success", record.FileId, record.SizeBytes));
                }
                catch (IngestException e) when (e.Code == IngestErrors.FileTooLarge && settings.MaxBatchSize - total < settings.MaxFileSize)
                {
                    throw new IngestException(413, IngestErrors.BatchTooLarge, $"a batch holds at most {settings.MaxBatchSize} bytes: nothing of it was kept");
                }
                catch (Exception e) when (e is IngestException or SagaFailedException)
                {
                    var (code, message) = e is IngestException refusal ? (refusal.Code, refusal.Message) : (IngestErrors.SagaFailed, e.Message);
                    results.Add(new BatchResult(filename, "failed", Error: code, Message: message));
                }
            }
        }
        catch
        {
            await RemoveAsync(ingest, stored).ConfigureAwait(false);
            throw;
        }
        if (results.Count == 0) throw new IngestException(400, IngestErrors.MissingFile, "the form has no file part ('files')");
        var succeeded = results.Count(r => r.Status == "success");
        context.Response.StatusCode = StatusCodes.Status207MultiStatus;
        await context.Response.WriteAsJsonAsync(new BatchBody(results, new BatchSummary(results.Count, succeeded, results.Count - succeeded)),
            IngestJson.Default.BatchBody, cancellationToken: CancellationToken.None).ConfigureAwait(false);
    }

    private static async Task<FileRecord> UploadOneAsync(HttpContext context, IngestService ingest, IngestSettings limits, Stream body, string filename,
        UploadForm form, CancellationToken cancellationToken)
    {
        var started = ingest.Time.GetTimestamp();
        using var span = IngestTelemetry.Start(IngestTelemetry.Upload);
        UploadHandler.StoredFile? stored = null;
        try
        {
            stored = await UploadHandler.StoreAsync(context, ingest, body, filename, form, cancellationToken, limits).ConfigureAwait(false);
            var record = await UploadHandler.FinishAsync(context, ingest, stored, form, cancellationToken).ConfigureAwait(false);
            UploadHandler.Tag(span, record);
            ingest.Metrics.Uploaded("success", record.SizeBytes, ingest.Time.GetElapsedTime(started));
            await ingest.Audit.WriteAsync(context, "upload", "success", record.FileId, record.StorageElementId).ConfigureAwait(false);
            return record;
        }
        catch (Exception e)
        {
            IngestTelemetry.Fail(span, e);
            if (stored is not null) await UploadHandler.AbandonAsync(ingest, stored.UploadId, stored.ElementId, stored.StorageFilename).ConfigureAwait(false);
            ingest.Metrics.Uploaded("failure", 0, ingest.Time.GetElapsedTime(started));
            await ingest.Audit.WriteAsync(context, "upload", "failure", stored?.FileId, stored?.ElementId,
                e is IngestException refusal ? refusal.Code : e.GetType().Name).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Takes back the files a refused batch stored: object, sidecar and record.</summary>
    private static async Task RemoveAsync(IngestService ingest, List<FileRecord> stored)
    {
        var records = await ingest.RecordsAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var file in stored)
        {
            if (ingest.Elements.Find(file.StorageElementId) is not { } element) continue;
            await new Sidecars(element).RemoveAsync(file, CancellationToken.None).ConfigureAwait(false);
            if (element.Location.Storage is Core.Storage.IObjectRemover remover)
                await remover.RemoveAsync(element.Location.Child(file.StorageFilename).Path, CancellationToken.None).ConfigureAwait(false);
            await records.DeleteAsync(file.FileId, CancellationToken.None).ConfigureAwait(false);
            element.AddUsed(-file.BytesAtElement);
        }
    }
}
