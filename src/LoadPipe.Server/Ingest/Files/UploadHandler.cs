using System.Security.Claims;
using System.Text;
using System.Text.Json;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Compression;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Ingest.Validation;
using Polly.CircuitBreaker;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// `POST /api/files/upload`: one file in multipart/form-data, streamed from the request body to its storage element
/// through the push entry, never held whole in memory or on disk. The file is validated as it arrives: its type from
/// its first bytes, its size against the limit at every read, its MD5 and SHA-256 in the same pass. It becomes an
/// object only once every check passed; a refused file leaves nothing behind.
/// <para>Form fields: `file` (the file), `metadata` (a JSON object, optional), `md5_hash` and `sha256_hash` (hex,
/// optional; also accepted as headers X-Content-MD5 and X-Content-SHA256). Fields may come before or after the file.</para>
/// </summary>
internal static class UploadHandler
{
    /// <summary>Room for the form's other fields and part headers beside the file itself.</summary>
    public const long FormOverhead = 1 << 20;

    /// <summary>The most a text field (metadata, hashes) may hold.</summary>
    private const int FieldLimit = 64 << 10;

    public static async Task HandleAsync(HttpContext context, IngestService ingest)
    {
        var cancellationToken = context.RequestAborted;
        var started = ingest.Time.GetTimestamp();
        var boundary = Boundary(context.Request);
        var sizeLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is { IsReadOnly: false }) sizeLimit.MaxRequestBodySize = ingest.Settings.MaxFileSize + FormOverhead;

        using var span = IngestTelemetry.Start(IngestTelemetry.Upload);
        StoredFile? stored = null;
        try
        {
            var form = new UploadForm(Header(context, "X-Content-MD5"), Header(context, "X-Content-SHA256"));
            await UploadFormReader.ReadAsync(context, boundary, form, async (section, filename) =>
                    stored = await StoreAsync(context, ingest, section.Body, filename, form, cancellationToken, declaredLength: context.Request.ContentLength).ConfigureAwait(false),
                "one file per upload: send several to /api/files/batch/upload", cancellationToken).ConfigureAwait(false);
            if (stored is null) throw new IngestException(400, IngestErrors.MissingFile, "the form has no 'file' part");
            form.CheckHashes(stored.Md5, stored.Sha256);
            var record = await FinishAsync(context, ingest, stored, form, cancellationToken).ConfigureAwait(false);
            Tag(span, record);
            await AnswerStoredAsync(context, ingest, record, started).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            IngestTelemetry.Fail(span, e);
            if (stored is not null) await AbandonAsync(ingest, stored.UploadId, stored.ElementId, stored.StorageFilename).ConfigureAwait(false);
            ingest.Metrics.Uploaded("failure", 0, ingest.Time.GetElapsedTime(started));
            await ingest.Audit.WriteAsync(context, "upload", "failure", stored?.FileId, stored?.ElementId,
                e is IngestException refusal ? refusal.Code : e is Sagas.SagaFailedException saga ? $"saga failed at {saga.Step}" : e.GetType().Name).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The upload span's tags once the file is recorded.</summary>
    /// <summary>The answer to an upload whose file is stored (a single upload, or a session's last part): its metric,
    /// audit line and log line, then 201 with the file's record.</summary>
    internal static async Task AnswerStoredAsync(HttpContext context, IngestService ingest, FileRecord record, long started)
    {
        ingest.Metrics.Uploaded("success", record.SizeBytes, ingest.Time.GetElapsedTime(started));
        await ingest.Audit.WriteAsync(context, "upload", "success", record.FileId, record.StorageElementId).ConfigureAwait(false);
        Log.FileUploaded(ingest.Logger, record.FileId, record.StorageElementId, record.StorageFilename, record.SizeBytes, record.Sha256Hash);
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = $"/api/files/{record.FileId}";
        await context.Response.WriteAsJsonAsync(
            new UploadedBody(record.FileId, record.StorageElementId, record.StorageFilename, record.SizeBytes, record.Md5Hash, record.Sha256Hash, record.UploadedAt),
            IngestJson.Default.UploadedBody, cancellationToken: CancellationToken.None).ConfigureAwait(false);
    }

    internal static void Tag(System.Diagnostics.Activity? span, FileRecord record)
    {
        span?.SetTag(IngestTelemetry.FileIdTag, record.FileId);
        span?.SetTag(IngestTelemetry.StorageElementTag, record.StorageElementId);
        span?.SetTag(IngestTelemetry.SizeTag, record.SizeBytes);
        span?.SetTag(IngestTelemetry.MimeTypeTag, record.MimeType);
    }

    /// <summary>The file part: sniffs its type from the first bytes, then streams it into an upload (of a length only
    /// known at the end) at the chosen element. The upload stays unfinished, so nothing appears yet.</summary>
    internal static async Task<StoredFile> StoreAsync(HttpContext context, IngestService ingest, Stream body, string filename, UploadForm form,
        CancellationToken cancellationToken, IngestSettings? limits = null, long? declaredLength = null)
    {
        var settings = limits ?? ingest.Settings;
        var prefix = new byte[MimeSniffer.PrefixLength];
        int sniffed;
        string mime;
        using (var validation = IngestTelemetry.Start(IngestTelemetry.Validation))
        {
            try
            {
                if (FileNames.Problem(filename) is { } nameProblem) throw new IngestException(400, IngestErrors.InvalidFilename, nameProblem);
                sniffed = await body.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                mime = MimeSniffer.Detect(prefix.AsSpan(0, sniffed));
                validation?.SetTag(IngestTelemetry.MimeTypeTag, mime);
                if (settings.MimeTypeValidation && !MimeSniffer.IsAllowed(mime, settings.AllowedMimeTypes))
                    throw new IngestException(415, IngestErrors.MimeTypeNotAllowed, $"the file is {mime}, which is not among the allowed types ({string.Join(", ", settings.AllowedMimeTypes)})");
                if (sniffed > settings.MaxFileSize)
                    throw new IngestException(413, IngestErrors.FileTooLarge, $"the file is larger than the limit of {settings.MaxFileSize} bytes");
            }
            catch (Exception e)
            {
                IngestTelemetry.Fail(validation, e);
                throw;
            }
        }

        var fileId = Guid.NewGuid();
        var now = ingest.Time.GetUtcNow();
        var owner = Owner(context.User, form.Owner);
        // Compressed when its type gains from it and it is at least compression_min_size: as the request's length says,
        // or, without one (a chunked body, a file of a batch), as learnt by reading ahead (StoredCompression.ReadAheadAsync).
        ReadOnlyMemory<byte> head = prefix.AsMemory(0, sniffed);
        var size = declaredLength;
        if (size is null && settings.CompressionEnabled && StoredCompression.IsCompressible(mime) && sniffed == prefix.Length)
        {
            (head, size) = await StoredCompression.ReadAheadAsync(body, head, settings.CompressionMinSize, settings.MaxFileSize, cancellationToken).ConfigureAwait(false);
            if (head.Length > settings.MaxFileSize)
                throw new IngestException(413, IngestErrors.FileTooLarge, $"the file is larger than the limit of {settings.MaxFileSize} bytes");
        }
        var compression = settings.CompressionEnabled && StoredCompression.IsCompressible(mime) && size >= settings.CompressionMinSize
            ? settings.CompressionAlgorithm : null;
        var storageFilename = FileNames.StorageFilename(filename, owner, now, fileId) + (compression is null ? "" : StoredCompression.Suffix(compression));
        var uploads = await ingest.UploadsAsync(cancellationToken).ConfigureAwait(false);
        await ingest.LoadUsageAsync(cancellationToken).ConfigureAwait(false);
        var tried = new List<string>();
        while (true)
        {
            var selecting = ingest.Time.GetTimestamp();
            StorageElement element;
            using (var selection = IngestTelemetry.Start(IngestTelemetry.StorageSelection))
            {
                var chosen = ingest.Elements.Select(tried);
                selection?.SetTag(IngestTelemetry.StorageElementTag, chosen?.Id);
                if (chosen is null)
                {
                    var refusal = new IngestException(503, IngestErrors.NoStorageAvailable, tried.Count == 0
                        ? "no storage element takes uploads now (none is writable, healthy and with room)"
                        : $"no storage element took the file (tried {string.Join(", ", tried)})");
                    IngestTelemetry.Fail(selection, refusal);
                    throw refusal;
                }
                element = chosen;
            }
            ingest.Metrics.SelectionTook(ingest.Time.GetElapsedTime(selecting));
            tried.Add(element.Id);
            string? uploadId = null;
            // Stored as it is, the body is hashed once, by the push entry (MD5 asked for, whatever server.uploads.md5 says):
            // the bytes it keeps are the file's. Compressed, it keeps other bytes: the file's hashes are taken here,
            // before the compression.
            await using var hashing = new HashingLimitStream(head, body, settings.MaxFileSize, hash: compression is not null);
            // The virus scan sees the bytes in the same pass that hashes and stores them (one scan per attempt: an
            // attempt at another element starts the stream over).
            await using var scan = settings.ClamAv is { } clamav ? await StartScanAsync(ingest, clamav, filename, cancellationToken).ConfigureAwait(false) : null;
            // Its verdict is taken at the body's end, before the upload is completed: a file clamd flags fails the
            // append's last read, and is dropped with what it sent.
            Stream scanned = scan is null ? hashing : new ScanningStream(hashing, scan, ct => VerdictAsync(ingest, scan, settings.ClamAv!, filename, ct));
            // The element gets the bytes compressed as they pass.
            await using var compressing = compression is null ? null : new CompressingReadStream(scanned, compression);
            var source = compressing ?? scanned;
            try
            {
                var stored = await element.RunAsync(async ct =>
                {
                    var upload = await uploads.CreateAsync(new NewUpload
                    {
                        Destination = element.Location.Child(storageFilename),
                        Length = null,
                        Metadata = new Dictionary<string, string> { ["ingest_file_id"] = fileId.ToString("D") },
                        Expires = now + ingest.UploadExpiration,
                        Md5 = compression is null,
                        // Nothing is reported before the append completes it, durably.
                        Provisional = true,
                    }, ct).ConfigureAwait(false);
                    uploadId = upload.Id;
                    // The compression runs inside the append, as the bytes pass: its span covers the append.
                    using var compressionSpan = compression is null ? null : IngestTelemetry.Start(IngestTelemetry.Compression);
                    // The body's end is the file's: the append declares the length there and completes the upload in one
                    // record (docs/ingest.md, "What an upload costs"). A hash the client sends after the file is checked
                    // once the form is read; a mismatch removes the object (AbandonAsync) before anything reports it.
                    var appended = await uploads.AppendAsync(upload.Id, 0, source, CompleteAtEnd, ct).ConfigureAwait(false);
                    compressionSpan?.SetTag("artstore.compression", compression);
                    var (sha256, md5) = compression is not null ? (hashing.Sha256Hex(), hashing.Md5Hex())
                        : appended is { Sha256: { } kept256, Md5: { } kept } ? (kept256, kept)
                        : throw new InvalidOperationException($"upload {upload.Id}: the push entry kept no MD5 and SHA-256 of the bytes it took");
                    return new StoredFile(upload.Id, fileId.ToString("D"), element.Id, storageFilename, filename, owner, mime, now)
                    {
                        Size = hashing.BytesRead, StoredSize = appended.Offset, Compression = compression,
                        Md5 = md5, Sha256 = sha256, Completed = appended.Status == UploadStatus.Completed,
                    };
                }, cancellationToken).ConfigureAwait(false);
                return stored;
            }
            catch (Exception e)
            {
                if (uploadId is not null) await AbandonAsync(ingest, uploadId, element.Id, storageFilename).ConfigureAwait(false);
                // The element failed before a byte of the body was taken: another element can have the file.
                if ((e is BrokenCircuitException || StorageElement.IsElementFailure(e)) && !hashing.BodyTouched && !cancellationToken.IsCancellationRequested)
                {
                    Log.ElementFailed(ingest.Logger, element.Id, e.Message);
                    continue;
                }
                throw;
            }
        }
    }

    private static readonly AppendOptions CompleteAtEnd = new() { Complete = true };

    /// <summary>Connects to clamd for one file: 503 virus_scan_failed when it cannot be reached (fail closed), or no
    /// scan at all with `fail_open`.</summary>
    private static async Task<ClamAvScan?> StartScanAsync(IngestService ingest, ClamAvSettings clamav, string filename, CancellationToken cancellationToken)
    {
        try
        {
            return await ClamAvScan.StartAsync(clamav, cancellationToken).ConfigureAwait(false);
        }
        catch (ClamAvException e) when (clamav.FailOpen)
        {
            Log.ScanSkipped(ingest.Logger, filename, e.Message);
            return null;
        }
        catch (ClamAvException e)
        {
            throw new IngestException(503, IngestErrors.VirusScanFailed, $"the file could not be scanned for viruses ({e.Message}): nothing was stored");
        }
    }

    /// <summary>clamd's verdict on the whole file: 422 virus_detected when it found something; 503 virus_scan_failed
    /// when it could not scan (unless `fail_open`).</summary>
    private static async Task VerdictAsync(IngestService ingest, ClamAvScan scan, ClamAvSettings clamav, string filename, CancellationToken cancellationToken)
    {
        ClamAvVerdict verdict;
        try
        {
            verdict = await scan.FinishAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ClamAvException e) when (clamav.FailOpen)
        {
            Log.ScanSkipped(ingest.Logger, filename, e.Message);
            return;
        }
        catch (ClamAvException e)
        {
            throw new IngestException(503, IngestErrors.VirusScanFailed, $"the file could not be scanned for viruses ({e.Message}): nothing was stored");
        }
        if (verdict.Found is { } found)
        {
            Log.VirusFound(ingest.Logger, filename, found);
            throw new IngestException(422, IngestErrors.VirusDetected, $"the virus scanner found {found} in the file: nothing was stored");
        }
    }

    /// <summary>Every check passed: the upload saga makes the upload the object, writes its attr.json sidecar, records
    /// the file, publishes it and calls the webhook; a step that keeps failing undoes the ones before it.</summary>
    internal static async Task<FileRecord> FinishAsync(HttpContext context, IngestService ingest, StoredFile stored, UploadForm form, CancellationToken cancellationToken)
    {
        var uploads = await ingest.UploadsAsync(cancellationToken).ConfigureAwait(false);
        var element = ingest.Elements.Find(stored.ElementId)
            ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, $"the storage element {stored.ElementId} went away during the upload");
        var record = new FileRecord
        {
            FileId = stored.FileId,
            OriginalFilename = stored.OriginalFilename,
            StorageElementId = stored.ElementId,
            StorageFilename = stored.StorageFilename,
            SizeBytes = stored.Size,
            MimeType = stored.Mime,
            Md5Hash = stored.Md5,
            Sha256Hash = stored.Sha256,
            Owner = stored.Owner,
            UploadedAt = stored.At,
            Metadata = form.Metadata,
            Compression = stored.Compression,
            StoredSizeBytes = stored.Compression is null ? null : stored.StoredSize,
            CompressionRatio = stored.Compression is null ? null : stored.Size == 0 ? 1 : Math.Round((double)stored.StoredSize / stored.Size, 4),
        };
        var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
        var sidecar = new Sidecars(element);
        await ingest.Sagas.RunAsync("upload", record.FileId,
        [
            // The upload is completed already (by its append, or by the session's last part): nothing to ask the manifest.
            new("store", ct => stored.Completed ? Task.CompletedTask : element.RunAsync(async c =>
            {
                var upload = await uploads.GetAsync(stored.UploadId, c).ConfigureAwait(false);
                if (upload is { Status: UploadStatus.Completed }) return true;
                var declared = await uploads.DeclareLengthAsync(stored.UploadId, stored.StoredSize, c).ConfigureAwait(false);
                if (declared.Status != UploadStatus.Completed) await uploads.CompleteAsync(stored.UploadId, c).ConfigureAwait(false);
                return true;
            }, ct).AsTask(), _ => AbandonAsync(ingest, stored.UploadId, stored.ElementId, stored.StorageFilename)),
            new("attr.json", ct => sidecar.WriteAsync(record, ct), ct => sidecar.RemoveAsync(record, ct)),
            new("record", ct => records.PutAsync(record, ct), ct => records.DeleteAsync(record.FileId, ct)),
            // Announced on Redis (kept and sent later while Redis is away); undone by announcing the removal, or by
            // dropping the announcement when it never went out.
            new("publish", ct => ingest.Events.PublishOrKeepAsync(stored.Published ??= Publishing.FileEvent.For(Publishing.FileEvent.Stored, record, ingest.Time.GetUtcNow()), ct),
                async ct =>
                {
                    if (stored.Published is { } announced && !await ingest.Events.ForgetAsync(announced, ct).ConfigureAwait(false))
                        await ingest.Events.PublishOrKeepAsync(Publishing.FileEvent.For(Publishing.FileEvent.Removed, record, ingest.Time.GetUtcNow()), ct).ConfigureAwait(false);
                }),
            new("webhook", ct => WebhookAsync(ingest, record, ct)),
        // Not the request's token: once every byte is in, a client that goes away must not stop the saga half-way (its
        // steps done would stay, undone by nothing); the saga's own timeout bounds it.
        ], ["validate", "select"], CancellationToken.None).ConfigureAwait(false);
        element.AddUsed(record.BytesAtElement);
        if (record.CompressionRatio is { } ratio) ingest.Metrics.Compressed(ratio);
        return record;
    }

    /// <summary>Posts the new file's record to `ingest.webhook_url` (when set); anything but a 2xx fails the step.</summary>
    private static async Task WebhookAsync(IngestService ingest, FileRecord record, CancellationToken cancellationToken)
    {
        if (ingest.Settings.WebhookUrl is not { } url) return;
        using var content = new StringContent(JsonSerializer.Serialize(record, IngestJson.Default.FileRecord), Encoding.UTF8, "application/json");
        using var response = await ingest.WebhookClient.PostAsync(url, content, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new Core.Errors.LoadPipeException(Core.Errors.ErrorKind.Transient, $"the webhook answered {(int)response.StatusCode}");
    }

    /// <summary>Undoes a refused or failed upload, even when the request was cancelled: an unfinished upload is dropped
    /// with what it received, a finished one's object is removed.</summary>
    internal static async Task AbandonAsync(IngestService ingest, string uploadId, string elementId, string storageFilename)
    {
        var uploads = await ingest.UploadsAsync(CancellationToken.None).ConfigureAwait(false);
        var upload = await uploads.GetAsync(uploadId, CancellationToken.None).ConfigureAwait(false);
        if (upload is { Status: UploadStatus.Open }) await uploads.AbortAsync(uploadId, CancellationToken.None).ConfigureAwait(false);
        else if (upload is { Status: UploadStatus.Completed } && ingest.Elements.Find(elementId) is { } element
                 && element.Location.Storage is Core.Storage.IObjectRemover remover)
            await remover.RemoveAsync(element.Location.Child(storageFilename).Path, CancellationToken.None).ConfigureAwait(false);
    }

    internal static string Boundary(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw new IngestException(415, IngestErrors.InvalidRequest, "send the file as multipart/form-data");
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 70)
            throw new IngestException(400, IngestErrors.InvalidRequest, "the multipart/form-data Content-Type has no valid boundary");
        return boundary;
    }

    internal static async Task<string> ReadFieldAsync(Stream body, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[FieldLimit + 1];
        var n = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (n > FieldLimit)
            throw new IngestException(400, name == "metadata" ? IngestErrors.InvalidMetadata : IngestErrors.InvalidRequest, $"the field '{name}' is longer than {FieldLimit} bytes");
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static string? Header(HttpContext context, string name) =>
        context.Request.Headers.TryGetValue(name, out var v) && v.ToString() is { Length: > 0 } s ? s : null;

    /// <summary>Whose file it is: the token's subject, else the metadata's "owner" when it came before the file, else
    /// "anonymous" (auth none).</summary>
    internal static string Owner(ClaimsPrincipal user, string? metadataOwner) =>
        user.FindFirst("sub")?.Value is { Length: > 0 } subject ? subject
        : metadataOwner is { Length: > 0 } ? metadataOwner
        : "anonymous";

    internal sealed record StoredFile(string UploadId, string FileId, string ElementId, string StorageFilename, string OriginalFilename, string Owner,
        string Mime, DateTimeOffset At)
    {
        /// <summary>The original bytes' count.</summary>
        public long Size { get; init; }

        /// <summary>The bytes at the element: <see cref="Size"/>, or fewer when compressed.</summary>
        public long StoredSize { get; init; }

        public string? Compression { get; init; }

        /// <summary>The upload is the object already: the saga's store step has nothing left to do.</summary>
        public bool Completed { get; init; }

        public string Md5 { get; init; } = "";
        public string Sha256 { get; init; } = "";

        /// <summary>The `file_stored` event the saga's publish step sent (one id across its retries).</summary>
        public Publishing.FileEvent? Published { get; set; }
    }
}

/// <summary>The form's text fields, and the hashes the client expects.</summary>
internal sealed class UploadForm(string? md5Header, string? sha256Header)
{
    private string? _md5 = Hash(md5Header, "MD5", 32);
    private string? _sha256 = Hash(sha256Header, "SHA-256", 64);

    public JsonElement? Metadata { get; private set; }

    /// <summary>The hashes the client expects (hex), when it gave them.</summary>
    public string? ExpectedMd5 => _md5;
    public string? ExpectedSha256 => _sha256;

    /// <summary>The metadata's "owner", when it is a string.</summary>
    public string? Owner =>
        Metadata is { ValueKind: JsonValueKind.Object } m && m.TryGetProperty("owner", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;

    public void Take(string name, string value)
    {
        switch (name)
        {
            case "metadata":
                try
                {
                    var parsed = JsonSerializer.Deserialize(value, IngestJson.Default.JsonElement);
                    if (parsed.ValueKind != JsonValueKind.Object) throw new IngestException(400, IngestErrors.InvalidMetadata, "metadata must be a JSON object");
                    Metadata = parsed;
                }
                catch (JsonException e)
                {
                    throw new IngestException(400, IngestErrors.InvalidMetadata, $"metadata is not valid JSON ({e.Message})");
                }
                break;
            case "md5_hash": _md5 = Hash(value, "MD5", 32); break;
            case "sha256_hash": _sha256 = Hash(value, "SHA-256", 64); break;
            // Other fields are ignored, as a form may carry a submit button's value.
        }
    }

    /// <summary>Refuses the file (400 checksum_mismatch) when a hash the client gave differs from the bytes'.</summary>
    public void CheckHashes(string md5, string sha256)
    {
        if (_md5 is { } expectedMd5 && !Same(expectedMd5, md5))
            throw new IngestException(400, IngestErrors.ChecksumMismatch, $"the file's MD5 is {md5}, not {expectedMd5}: nothing was stored");
        if (_sha256 is { } expectedSha && !Same(expectedSha, sha256))
            throw new IngestException(400, IngestErrors.ChecksumMismatch, $"the file's SHA-256 is {sha256}, not {expectedSha}: nothing was stored");
    }

    /// <summary>A client's hash, checked as soon as it arrives (before the file is read, when it comes first): hex of
    /// the algorithm's length, or 400 invalid_request.</summary>
    private static string? Hash(string? value, string algorithm, int hexLength)
    {
        if (value?.Trim() is not { } hash) return null;
        if (hash.Length != hexLength || !hash.All(char.IsAsciiHexDigit))
            throw new IngestException(400, IngestErrors.InvalidRequest, $"the client's {algorithm} must be {hexLength} hex digits");
        return hash;
    }

    private static bool Same(string expected, string actual) => string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase);
}
