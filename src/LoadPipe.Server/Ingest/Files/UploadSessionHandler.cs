using System.Globalization;
using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>The error codes of upload sessions, each named once.</summary>
public static class UploadSessionErrors
{
    public const string InvalidContentRange = "invalid_content_range";
    public const string SessionNotFound = "upload_session_not_found";
    public const string SessionFailed = "upload_session_failed";
    public const string OffsetMismatch = "upload_offset_mismatch";
    public const string PartInProgress = "upload_in_progress";
}

/// <summary>
/// `POST /api/files/upload` with `X-Upload-Session-ID: UUID`: one part of a resumable upload (docs/ingest.md, "Upload
/// sessions"). Each request is the same multipart form as a single upload, its `file` part one piece of the file with
/// `Content-Range: bytes START-END/TOTAL` (on the part, or on the request). The part at byte 0 starts the session: the
/// size is checked against the limit, the type sniffed from the first bytes and the element chosen, before anything
/// is kept. Each next part must start where the session stands (409 otherwise; `GET /api/files/upload/session/{id}`
/// tells where). A part that leaves the session short answers 202 with the progress; the one that brings its last byte
/// checks the hashes and runs the upload saga, as a single upload does, and answers 201 with the file.
/// </summary>
internal static class UploadSessionHandler
{
    public const string Header = "X-Upload-Session-ID";

    public static async Task HandleAsync(HttpContext context, IngestService ingest, string sessionHeader)
    {
        if (!ingest.Settings.ResumableUploads)
            throw new IngestException(400, IngestErrors.InvalidRequest, "resumable uploads are turned off here (ingest.resumable_uploads): send the file in one request");
        var sessionId = SessionId(sessionHeader)
            ?? throw new IngestException(400, IngestErrors.InvalidRequest, $"{Header} must be a UUID");
        var cancellationToken = context.RequestAborted;
        var started = ingest.Time.GetTimestamp();
        var boundary = UploadHandler.Boundary(context.Request);
        var sizeLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is { IsReadOnly: false }) sizeLimit.MaxRequestBodySize = ingest.Settings.MaxFileSize + UploadHandler.FormOverhead;

        var state = ingest.Sessions.State(sessionId, ingest.Time.GetUtcNow() + ingest.Settings.UploadSessionTtl);
        if (!await state.Gate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
            throw new IngestException(409, UploadSessionErrors.PartInProgress, $"another part of upload session {sessionId} is being received now");
        Part? part = null;
        try
        {
            var form = new UploadForm(HeaderValue(context, "X-Content-MD5"), HeaderValue(context, "X-Content-SHA256"));
            await UploadFormReader.ReadAsync(context, boundary, form, async (section, filename) =>
            {
                var range = ContentRange(section.Headers?.GetValueOrDefault(HeaderNames.ContentRange).ToString() is { Length: > 0 } own
                    ? own : context.Request.Headers.ContentRange.ToString());
                part = await TakePartAsync(context, ingest, state, sessionId, filename, section.Body, range, form, cancellationToken).ConfigureAwait(false);
            }, "one piece of the file per request", cancellationToken).ConfigureAwait(false);
            if (part is null) throw new IngestException(400, IngestErrors.MissingFile, "the form has no 'file' part");

            var upload = part.Upload;
            var total = UploadSessions.Total(upload);
            if (upload.Offset < total)
            {
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                context.Response.Headers.Location = $"/api/files/upload/session/{sessionId}";
                await context.Response.WriteAsJsonAsync(
                    new UploadProgressBody(sessionId, upload.Offset, total, UploadSessions.Percent(upload.Offset, total), upload.Expires ?? default),
                    UploadSessionJson.Default.UploadProgressBody, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                return;
            }
            var record = await FinishAsync(context, ingest, sessionId, upload, form, cancellationToken).ConfigureAwait(false);
            ingest.Sessions.Forget(sessionId, ingest.Time.GetUtcNow());
            await UploadHandler.AnswerStoredAsync(context, ingest, record, started).ConfigureAwait(false);
        }
        catch (Exception e) when (part is { Upload: var u } && u.Offset == UploadSessions.Total(u))
        {
            ingest.Metrics.Uploaded("failure", 0, ingest.Time.GetElapsedTime(started));
            await ingest.Audit.WriteAsync(context, "upload", "failure", u.Metadata[UploadSessions.FileIdKey], u.Metadata[UploadSessions.ElementKey],
                e is IngestException refusal ? refusal.Code : e is Sagas.SagaFailedException saga ? $"saga failed at {saga.Step}" : e.GetType().Name).ConfigureAwait(false);
            throw;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    private sealed record Part(Upload Upload);

    /// <summary>Starts the session at its first part, or checks the part against it; then appends the part's bytes.</summary>
    private static async Task<Part> TakePartAsync(HttpContext context, IngestService ingest, SessionState state, string sessionId, string filename,
        Stream body, (long Start, long End, long Total) range, UploadForm form, CancellationToken cancellationToken)
    {
        var uploads = await ingest.UploadsAsync(cancellationToken).ConfigureAwait(false);
        var manifest = await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var uploadId = UploadSessions.UploadIdOf(sessionId);
        var now = ingest.Time.GetUtcNow();
        if (await UploadSessions.GetFailedAsync(manifest, sessionId, now, cancellationToken).ConfigureAwait(false) is { } failed)
            throw new IngestException(409, UploadSessionErrors.SessionFailed, $"upload session {sessionId} failed ({failed.Error}: {failed.Message}); start a new session");
        var upload = await OwnedAsync(context, uploads, sessionId, now, cancellationToken).ConfigureAwait(false);
        ReadOnlyMemory<byte> prefix = default;
        if (upload is null)
        {
            if (range.Start != 0)
                throw new IngestException(404, UploadSessionErrors.SessionNotFound,
                    $"no upload session {sessionId} (never started, expired or removed): start it with the part at byte 0");
            (upload, prefix) = await StartAsync(context, ingest, uploads, sessionId, filename, body, range, form, cancellationToken).ConfigureAwait(false);
            await UploadSessions.SweepFailedAsync(manifest, now, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var total = UploadSessions.Total(upload);
            if (range.Total != total)
                throw new IngestException(400, UploadSessionErrors.InvalidContentRange, $"the session's file is {total} bytes, not {range.Total}");
            // Every byte is there (the answer to the last part was lost, or the server stopped before finishing): this
            // request finishes the session, whatever its part holds.
            if (upload.Offset == total) return new Part(upload);
            if (range.Start != upload.Offset)
                throw new IngestException(409, UploadSessionErrors.OffsetMismatch,
                    $"the session holds {upload.Offset} of {total} bytes: send the part from byte {upload.Offset} (Content-Range: bytes {upload.Offset}-.../{total})");
        }

        var expires = ingest.Time.GetUtcNow() + UploadSessions.Ttl(upload);
        state.Expires = expires;
        var element = ingest.Elements.Find(upload.Metadata[UploadSessions.ElementKey])
            ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, $"the storage element {upload.Metadata[UploadSessions.ElementKey]} of this session is not known now");
        // The sniffed bytes first; the push entry hashes every byte (MD5 too: the session's upload asks for it).
        await using var stream = new HashingLimitStream(prefix, body, long.MaxValue, hash: false);
        var offset = upload.Offset;
        upload = await element.RunAsync(async ct =>
        {
            try
            {
                return await uploads.AppendAsync(uploadId, offset, stream, new AppendOptions { MaxLength = range.End - range.Start + 1, Expires = expires }, ct)
                    .ConfigureAwait(false);
            }
            // The client's doing, not the element's: refusals, which the breaker does not count.
            catch (UploadTooLargeException)
            {
                throw new IngestException(400, UploadSessionErrors.InvalidContentRange,
                    $"the part holds more than the {range.End - range.Start + 1} bytes its Content-Range names: the bytes up to that were kept (ask the session's status)");
            }
            catch (UploadConflictException conflict)
            {
                throw new IngestException(409, UploadSessionErrors.OffsetMismatch, $"the session holds {conflict.Offset} bytes: send the part from byte {conflict.Offset}");
            }
            catch (LoadPipeException e) when (e.Kind == ErrorKind.Busy)
            {
                throw new IngestException(409, UploadSessionErrors.PartInProgress, $"another part of upload session {sessionId} is being received now");
            }
        }, cancellationToken).ConfigureAwait(false);
        return new Part(upload);
    }

    /// <summary>The part at byte 0: checks the file's size, name and type (from its first bytes), chooses its element and
    /// creates the session's upload there. Nothing is kept when a check fails.</summary>
    private static async Task<(Upload Upload, ReadOnlyMemory<byte> Prefix)> StartAsync(HttpContext context, IngestService ingest, IUploads uploads,
        string sessionId, string filename, Stream body, (long Start, long End, long Total) range, UploadForm form, CancellationToken cancellationToken)
    {
        var settings = ingest.Settings;
        if (range.Total > settings.MaxFileSize)
            throw new IngestException(413, IngestErrors.FileTooLarge, $"the file is {range.Total} bytes, larger than the limit of {settings.MaxFileSize} bytes");
        if (FileNames.Problem(filename) is { } nameProblem) throw new IngestException(400, IngestErrors.InvalidFilename, nameProblem);
        var prefix = new byte[(int)Math.Min(MimeSniffer.PrefixLength, range.End + 1)];
        var sniffed = await body.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var mime = MimeSniffer.Detect(prefix.AsSpan(0, sniffed));
        if (settings.MimeTypeValidation && !MimeSniffer.IsAllowed(mime, settings.AllowedMimeTypes))
            throw new IngestException(415, IngestErrors.MimeTypeNotAllowed, $"the file is {mime}, which is not among the allowed types ({string.Join(", ", settings.AllowedMimeTypes)})");

        await ingest.LoadUsageAsync(cancellationToken).ConfigureAwait(false);
        var selecting = ingest.Time.GetTimestamp();
        var element = ingest.Elements.Select()
            ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, "no storage element takes uploads now (none is writable, healthy and with room)");
        ingest.Metrics.SelectionTook(ingest.Time.GetElapsedTime(selecting));
        var fileId = Guid.NewGuid().ToString("D");
        var now = ingest.Time.GetUtcNow();
        var owner = UploadHandler.Owner(context.User, form.Owner);
        var storageFilename = FileNames.StorageFilename(filename, owner, now, Guid.Parse(fileId));
        var ttl = settings.UploadSessionTtl;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [UploadSessions.SessionKey] = sessionId,
            [UploadSessions.FileIdKey] = fileId,
            [UploadSessions.ElementKey] = element.Id,
            [UploadSessions.StorageFilenameKey] = storageFilename,
            [UploadSessions.FilenameKey] = filename,
            [UploadSessions.OwnerKey] = owner,
            [UploadSessions.MimeKey] = mime,
            [UploadSessions.TotalKey] = range.Total.ToString(CultureInfo.InvariantCulture),
            [UploadSessions.TtlKey] = ((long)ttl.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        };
        if (form.Metadata is { } given) metadata[UploadSessions.MetadataKey] = given.GetRawText();
        if (form.ExpectedMd5 is { } md5) metadata[UploadSessions.Md5Key] = md5;
        if (form.ExpectedSha256 is { } sha256) metadata[UploadSessions.Sha256Key] = sha256;
        try
        {
            var upload = await element.RunAsync(async ct => await uploads.CreateAsync(new NewUpload
            {
                Id = UploadSessions.UploadIdOf(sessionId),
                Destination = element.Location.Child(storageFilename),
                Length = range.Total,
                Metadata = metadata,
                Expires = now + ttl,
                Md5 = true,
            }, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            return (upload, prefix.AsMemory(0, sniffed));
        }
        catch (UploadConflictException)
        {
            // Another process started this session a moment ago.
            throw new IngestException(409, UploadSessionErrors.PartInProgress, $"upload session {sessionId} was just started by another request: ask its status");
        }
    }

    /// <summary>Every byte arrived: the upload is made the object (SHA-256 and MD5 by the push entry, bytes of earlier
    /// processes included), the hashes the client gave are checked, and the
    /// upload saga records the file. A mismatch or a failed saga removes the object and marks the session failed.</summary>
    private static async Task<FileRecord> FinishAsync(HttpContext context, IngestService ingest, string sessionId, Upload upload,
        UploadForm form, CancellationToken cancellationToken)
    {
        var meta = upload.Metadata;
        var fileId = meta[UploadSessions.FileIdKey];
        var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
        // The answer to the last part was lost and the client sends it again: the file is there.
        if (upload.Status == UploadStatus.Completed && await records.GetAsync(fileId, cancellationToken).ConfigureAwait(false) is { } done) return done;
        var elementId = meta[UploadSessions.ElementKey];
        var storageFilename = meta[UploadSessions.StorageFilenameKey];
        var element = ingest.Elements.Find(elementId)
            ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, $"the storage element {elementId} of this session is not known now");
        var uploads = await ingest.UploadsAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (upload.Status != UploadStatus.Completed)
            {
                var id = upload.Id;
                upload = await element.RunAsync(async ct => await uploads.CompleteAsync(id, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }
            var sha256 = upload.Sha256 ?? throw new LoadPipeException(ErrorKind.Permanent, $"upload session {sessionId} completed without a SHA-256");
            // The push entry's MD5 (the session asked for it); none only when another process took earlier parts and
            // the completion read the bytes back with the server's own setting (server.uploads.md5 off).
            var md5 = upload.Md5 ?? await ReadMd5Async(element, storageFilename, cancellationToken).ConfigureAwait(false);
            var check = new UploadForm(form.ExpectedMd5 ?? meta.GetValueOrDefault(UploadSessions.Md5Key), form.ExpectedSha256 ?? meta.GetValueOrDefault(UploadSessions.Sha256Key));
            if (form.Metadata is { } given) check.Take("metadata", given.GetRawText());
            else if (meta.GetValueOrDefault(UploadSessions.MetadataKey) is { } kept) check.Take("metadata", kept);
            check.CheckHashes(md5, sha256);
            var stored = new UploadHandler.StoredFile(upload.Id, fileId, elementId, storageFilename, meta[UploadSessions.FilenameKey], meta[UploadSessions.OwnerKey],
                meta[UploadSessions.MimeKey], upload.Created)
            {
                Size = upload.Offset, Md5 = md5, Sha256 = sha256, Completed = true,
            };
            return await UploadHandler.FinishAsync(context, ingest, stored, check, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The saga undid its own steps; a refusal before it leaves the completed object, removed here.
            if (e is not Sagas.SagaFailedException) await UploadHandler.AbandonAsync(ingest, upload.Id, elementId, storageFilename).ConfigureAwait(false);
            var (code, message) = e switch
            {
                IngestException refusal => (refusal.Code, refusal.Message),
                Sagas.SagaFailedException saga => (IngestErrors.SagaFailed, saga.Message),
                _ => (IngestErrors.StorageError, e.Message),
            };
            var now = ingest.Time.GetUtcNow();
            var failed = UploadSessions.Describe(sessionId, upload, "failed") with
            {
                Error = code, Message = Core.Locations.Location.RedactUrls(message), LastActivityAt = now, ExpiresAt = now + UploadSessions.Ttl(upload),
            };
            await UploadSessions.PutFailedAsync(await ingest.ManifestAsync(CancellationToken.None).ConfigureAwait(false), failed).ConfigureAwait(false);
            ingest.Sessions.Forget(sessionId, now);
            throw;
        }
    }

    /// <summary>The MD5 of the object, read back: for a session whose earlier parts another process took, when the push
    /// entry's completion read the bytes back without MD5 (server.uploads.md5 off).</summary>
    private static async Task<string> ReadMd5Async(StorageElements.StorageElement element, string storageFilename, CancellationToken cancellationToken) =>
        await element.RunAsync(async ct =>
        {
            await using var stream = await element.Location.Storage.OpenReadAsync(element.Location.Child(storageFilename).Path, Core.Storage.ReadOptions.FromStart, ct).ConfigureAwait(false);
            return Convert.ToHexStringLower(await MD5.HashDataAsync(stream, ct).ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>`GET /api/files/upload/session/{id}`: where the session stands.</summary>
    public static async Task StatusAsync(HttpContext context, IngestService ingest)
    {
        var cancellationToken = context.RequestAborted;
        var raw = (string)context.Request.RouteValues["id"]!;
        var sessionId = SessionId(raw) ?? throw new IngestException(404, UploadSessionErrors.SessionNotFound, "no such upload session");
        var now = ingest.Time.GetUtcNow();
        var manifest = await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var body = await UploadSessions.GetFailedAsync(manifest, sessionId, now, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            var uploads = await ingest.UploadsAsync(cancellationToken).ConfigureAwait(false);
            var upload = await OwnedAsync(context, uploads, sessionId, now, cancellationToken).ConfigureAwait(false)
                ?? throw new IngestException(404, UploadSessionErrors.SessionNotFound, $"no upload session {sessionId} (never started, expired or removed)");
            var fileId = upload.Metadata[UploadSessions.FileIdKey];
            var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
            body = upload.Status == UploadStatus.Completed && await records.GetAsync(fileId, cancellationToken).ConfigureAwait(false) is not null
                ? UploadSessions.Describe(sessionId, upload, "completed", fileId)
                : UploadSessions.Describe(sessionId, upload, "in_progress");
        }
        await context.Response.WriteAsJsonAsync(body, UploadSessionJson.Default.UploadSessionBody, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The session's upload, when it is one, is the caller's (the token's subject made it) and has not expired
    /// (an expired one is removed on the spot, as the sweeper would); else null.</summary>
    private static async Task<Upload?> OwnedAsync(HttpContext context, IUploads uploads, string sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var upload = await uploads.GetAsync(UploadSessions.UploadIdOf(sessionId), cancellationToken).ConfigureAwait(false);
        if (upload is null || !UploadSessions.IsSession(upload)) return null;
        if (context.User.FindFirst("sub")?.Value is { Length: > 0 } subject && upload.Metadata[UploadSessions.OwnerKey] != subject) return null;
        if (upload.Status == UploadStatus.Open && upload.Expires is { } expires && expires <= now)
        {
            await uploads.AbortAsync(upload.Id, CancellationToken.None).ConfigureAwait(false);
            return null;
        }
        return upload;
    }

    private static string? SessionId(string text) => Guid.TryParse(text, out var id) ? id.ToString("D") : null;

    /// <summary>`bytes START-END/TOTAL`, with START &lt;= END &lt; TOTAL; 400 invalid_content_range otherwise.</summary>
    internal static (long Start, long End, long Total) ContentRange(string header)
    {
        if (header.Length == 0)
            throw new IngestException(400, UploadSessionErrors.InvalidContentRange, "each part of a session needs Content-Range: bytes START-END/TOTAL (on the file part or the request)");
        if (!ContentRangeHeaderValue.TryParse(header, out var parsed) || parsed.Unit != "bytes"
            || parsed.From is not { } from || parsed.To is not { } to || parsed.Length is not { } total || to < from || to >= total)
            throw new IngestException(400, UploadSessionErrors.InvalidContentRange, $"Content-Range '{Trim(header)}' is not bytes START-END/TOTAL with START <= END < TOTAL");
        return (from, to, total);
    }

    private static string Trim(string s) => s.Length > 80 ? s[..80] + "..." : s;

    private static string? HeaderValue(HttpContext context, string name) =>
        context.Request.Headers.TryGetValue(name, out var v) && v.ToString() is { Length: > 0 } s ? s : null;
}
