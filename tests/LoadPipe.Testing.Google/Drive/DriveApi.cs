// Hand-written: the Drive API v3 endpoints LoadPipe's adapter calls, from Google's REST reference
// (https://developers.google.com/drive/api/reference/rest/v3/files: list, get, create, update, delete) and the
// "Download and export files" and "Upload file data" guides.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google.Uploads;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google.Drive;

internal sealed class DriveApi(DriveStore store, UploadSessions uploads, Faults.FaultSwitchboard faults, Func<Uri> baseUri)
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    /// <summary>about.get: the user (with the permissionId that names the account in Drive) and the storage quota.
    /// Google requires the <c>fields</c> parameter here (400 without it); the answer carries every field regardless.</summary>
    public async Task AboutAsync(HttpContext context)
    {
        if (context.Request.Query["fields"].ToString().Length == 0)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "required", "The 'fields' parameter is required for this method.");
            return;
        }
        await GoogleErrors.WriteJsonAsync(context, new JsonObject
        {
            ["kind"] = "drive#about",
            ["user"] = new JsonObject
            {
                ["kind"] = "drive#user", ["displayName"] = "LoadPipe Test", ["emailAddress"] = "test@example.com", ["me"] = true,
                ["permissionId"] = store.PermissionId,
            },
            ["storageQuota"] = new JsonObject { ["limit"] = "1099511627776", ["usage"] = "0" },
        }, 200);
    }

    /// <summary>files.list: q, pageSize (1-1000, default 100), pageToken; fields and the shared-drive flags are accepted and ignored.</summary>
    public async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        string q = query["q"].ToString();
        Func<DriveFile, bool> predicate;
        try
        {
            predicate = DriveQuery.Parse(q, store.Resolve);
        }
        catch (FormatException)
        {
            await InvalidParameterAsync(context, "q");
            return;
        }
        int pageSize = DefaultPageSize;
        if (query.ContainsKey("pageSize") && (!int.TryParse(query["pageSize"], NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize < 1 || pageSize > MaxPageSize))
        {
            await InvalidParameterAsync(context, "pageSize");
            return;
        }
        int offset = 0;
        string token = query["pageToken"].ToString();
        if (token.Length > 0 && !TryReadPageToken(token, q, out offset))
        {
            await InvalidParameterAsync(context, "pageToken");
            return;
        }
        var matches = store.Query(predicate);
        var page = matches.Skip(offset).Take(pageSize).ToList();
        var body = new JsonObject { ["kind"] = "drive#fileList", ["incompleteSearch"] = false };
        if (offset + page.Count < matches.Count)
        {
            body["nextPageToken"] = PageToken(offset + page.Count, q);
        }
        body["files"] = new JsonArray([.. page.Select(f => (JsonNode)f.ToJson(store.RootFolderId))]);
        await GoogleErrors.WriteJsonAsync(context, body, 200);
    }

    /// <summary>files.get: metadata, or with alt=media the content (a single byte range honoured: 206 / 416).</summary>
    public async Task GetAsync(HttpContext context, string id)
    {
        if (!store.TryGet(id, out var file))
        {
            await NotFoundAsync(context, id);
            return;
        }
        if (context.Request.Query["alt"].ToString() != "media")
        {
            await GoogleErrors.WriteJsonAsync(context, file.ToJson(store.RootFolderId), 200);
            return;
        }
        if (file.BlobPath is null || file.IsGoogleDocument)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 403, "fileNotDownloadable",
                "Only files with binary content can be downloaded. Use Export with Docs Editors files.");
            return;
        }
        await DownloadAsync(context, file);
    }

    /// <summary>Export formats per kind of document, from Google's "Export MIME types for Google Workspace documents".</summary>
    private static readonly Dictionary<string, string[]> ExportFormats = new(StringComparer.Ordinal)
    {
        ["application/vnd.google-apps.document"] =
        [
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.oasis.opendocument.text",
            "application/rtf", "application/pdf", "text/plain", "application/zip", "application/epub+zip", "text/markdown",
        ],
        ["application/vnd.google-apps.spreadsheet"] =
        [
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/x-vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.spreadsheet", "application/pdf", "application/zip", "text/csv", "text/tab-separated-values",
        ],
        ["application/vnd.google-apps.presentation"] =
        [
            "application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/vnd.oasis.opendocument.presentation",
            "application/pdf", "text/plain", "image/jpeg", "image/png", "image/svg+xml",
        ],
        ["application/vnd.google-apps.drawing"] = ["application/pdf", "image/jpeg", "image/png", "image/svg+xml"],
        ["application/vnd.google-apps.script"] = ["application/vnd.google-apps.script+json"],
    };

    /// <summary>files.export: a Google document in the format asked for (mimeType), at most 10 MB. The test server has no
    /// editors: a document's stored bytes stand for its export in any format its kind allows.</summary>
    public async Task ExportAsync(HttpContext context, string id)
    {
        if (!store.TryGet(id, out var file))
        {
            await NotFoundAsync(context, id);
            return;
        }
        string mimeType = context.Request.Query["mimeType"].ToString();
        if (mimeType.Length == 0)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "required", "Required parameter: mimeType");
            return;
        }
        if (!file.IsGoogleDocument || file.BlobPath is null)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 403, "fileNotExportable", "Export only supports Docs Editors files.");
            return;
        }
        if (!ExportFormats.TryGetValue(file.MimeType, out var formats) || !formats.Contains(mimeType))
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badRequest", "The requested conversion is not supported.");
            return;
        }
        long size = new FileInfo(file.BlobPath).Length;
        if (size > ExportLimit)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 403, "exportSizeLimitExceeded", "This file is too large to be exported.");
            return;
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = mimeType;
        // No Content-Length: an export has no size in the metadata either, and a client must not need one.
        await context.Response.SendFileAsync(file.BlobPath, 0, size, context.RequestAborted);
        RequestLog.Of(context)?.AddBytesSent(size);
    }

    private const long ExportLimit = 10 << 20;

    private async Task DownloadAsync(HttpContext context, DriveFile file)
    {
        long size = file.Size ?? 0;
        var response = context.Response;
        response.ContentType = file.MimeType;
        response.Headers["X-Goog-Hash"] = "md5=" + Convert.ToBase64String(Convert.FromHexString(file.Md5 ?? ""));
        response.Headers.AcceptRanges = "bytes";
        long start = 0, count = size;
        string rangeHeader = context.Request.Headers.Range.ToString();
        if (rangeHeader.Length > 0 && TryParseRange(rangeHeader, size, out var first, out var last, out bool satisfiable))
        {
            if (!satisfiable)
            {
                response.Headers.ContentRange = "bytes */" + size.ToString(CultureInfo.InvariantCulture);
                await GoogleErrors.WriteApiErrorAsync(context, 416, "requestedRangeNotSatisfiable", "Request range not satisfiable");
                return;
            }
            start = first;
            count = last - first + 1;
            response.StatusCode = 206;
            response.Headers.ContentRange = FormattableString.Invariant($"bytes {first}-{last}/{size}");
        }
        else
        {
            response.StatusCode = 200;
        }
        response.ContentLength = count;
        if (faults.TakeDownloadDrop() is { } dropAfter && dropAfter < count)
        {
            await SendThenAbortAsync(context, file.BlobPath!, start, dropAfter);
            return;
        }
        if (count > 0)
        {
            await response.SendFileAsync(file.BlobPath!, start, count, context.RequestAborted);
        }
        RequestLog.Of(context)?.AddBytesSent(count);
    }

    /// <summary>A download whose connection breaks after <paramref name="bytes"/> bytes of the body (a fault).</summary>
    private static async Task SendThenAbortAsync(HttpContext context, string blob, long start, long bytes)
    {
        await using (var source = new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous))
        {
            source.Position = start;
            var buffer = new byte[1 << 16];
            long left = bytes;
            while (left > 0)
            {
                int n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), context.RequestAborted);
                if (n == 0)
                {
                    break;
                }
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted);
                RequestLog.Of(context)?.AddBytesSent(n);
                left -= n;
            }
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
        if (RequestLog.Of(context) is { } record)
        {
            record.Aborted = true;
        }
        context.Abort();
    }

    /// <summary>files.create without media: a folder (mimeType application/vnd.google-apps.folder) or an empty file.</summary>
    public async Task CreateAsync(HttpContext context)
    {
        var metadata = await ReadMetadataAsync(context);
        if (metadata is null)
        {
            return;
        }
        if (await ParentsMissingAsync(context, metadata))
        {
            return;
        }
        var created = store.CreateFromMetadata(metadata);
        await GoogleErrors.WriteJsonAsync(context, created.ToJson(store.RootFolderId), 200);
    }

    /// <summary>files.update without media: metadata, addParents / removeParents.</summary>
    public async Task UpdateAsync(HttpContext context, string id)
    {
        var metadata = await ReadMetadataAsync(context);
        if (metadata is null)
        {
            return;
        }
        var add = Split(context.Request.Query["addParents"].ToString());
        if (store.MissingParent(add) is { } missing)
        {
            await NotFoundAsync(context, missing);
            return;
        }
        var updated = store.UpdateMetadata(id, metadata, add, Split(context.Request.Query["removeParents"].ToString()));
        if (updated is null)
        {
            await NotFoundAsync(context, id);
            return;
        }
        await GoogleErrors.WriteJsonAsync(context, updated.ToJson(store.RootFolderId), 200);
    }

    /// <summary>files.delete: permanent, folders with their content; 204.</summary>
    public async Task DeleteAsync(HttpContext context, string id)
    {
        if (!store.TryGet(id, out var file) || file.Id == store.RootFolderId)
        {
            await NotFoundAsync(context, id);
            return;
        }
        store.Delete(file.Id);
        context.Response.StatusCode = 204;
    }

    /// <summary>
    /// POST upload/drive/v3/files?uploadType=resumable (a new file) or PATCH upload/drive/v3/files/{id}?uploadType=resumable
    /// (a new revision): the JSON metadata body, X-Upload-Content-Length / X-Upload-Content-Type; 200 with Location.
    /// </summary>
    public async Task StartUploadAsync(HttpContext context, string? existingId)
    {
        if (context.Request.Query["uploadType"].ToString() != "resumable")
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badRequest", "This server supports uploadType=resumable only.");
            return;
        }
        var metadata = await ReadMetadataAsync(context);
        if (metadata is null)
        {
            return;
        }
        long? total = null;
        string lengthHeader = context.Request.Headers["X-Upload-Content-Length"].ToString();
        if (lengthHeader.Length > 0)
        {
            if (!long.TryParse(lengthHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                await GoogleErrors.WriteApiErrorAsync(context, 400, "badRequest", "Invalid X-Upload-Content-Length.");
                return;
            }
            total = length;
        }
        string contentType = context.Request.Headers["X-Upload-Content-Type"].ToString();
        if (contentType.Length > 0 && metadata["mimeType"] is null)
        {
            metadata["mimeType"] = contentType;
        }
        string name;
        if (existingId is null)
        {
            if (await ParentsMissingAsync(context, metadata))
            {
                return;
            }
            name = (string?)metadata["name"] ?? "Untitled";
        }
        else
        {
            if (!store.TryGet(existingId, out var existing) || existing.BlobPath is null)
            {
                await NotFoundAsync(context, existingId);
                return;
            }
            name = (string?)metadata["name"] ?? existing.Name;
        }
        var session = uploads.Create("drive", name, total, (_, blob, size, md5) =>
            (existingId is null ? store.CreateWithContent(metadata, blob, size, md5) : store.ReplaceContent(existingId, metadata, blob, size, md5))
                ?.ToJson(store.RootFolderId));
        var path = existingId is null ? "upload/drive/v3/files" : "upload/drive/v3/files/" + Uri.EscapeDataString(existingId);
        context.Response.Headers.Location = new Uri(baseUri(), $"{path}?uploadType=resumable&upload_id={session.Id}").ToString();
        context.Response.StatusCode = 200;
        context.Response.ContentLength = 0;
    }

    private async Task<bool> ParentsMissingAsync(HttpContext context, JsonObject metadata)
    {
        var parents = metadata["parents"] is JsonArray array ? array.Select(p => (string?)p ?? "").ToList() : [];
        if (store.MissingParent(parents) is { } missing)
        {
            await NotFoundAsync(context, missing);
            return true;
        }
        return false;
    }

    private static async Task<JsonObject?> ReadMetadataAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        try
        {
            if (JsonNode.Parse(text) is JsonObject obj)
            {
                return obj;
            }
        }
        catch (JsonException)
        {
        }
        await GoogleErrors.WriteApiErrorAsync(context, 400, "parseError", "Parse Error");
        return null;
    }

    private static Task NotFoundAsync(HttpContext context, string id) =>
        GoogleErrors.WriteApiErrorAsync(context, 404, "notFound", $"File not found: {id}.");

    private static Task InvalidParameterAsync(HttpContext context, string parameter)
    {
        var body = GoogleErrors.ApiError(400, "invalid", "Invalid Value");
        var error = (JsonObject)body["error"]!["errors"]![0]!;
        error["locationType"] = "parameter";
        error["location"] = parameter;
        return GoogleErrors.WriteJsonAsync(context, body, 400);
    }

    private static List<string> Split(string list) => [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static string PageToken(int offset, string q) =>
        OAuth.OAuthAuthority.Base64Url(Encoding.UTF8.GetBytes(offset.ToString(CultureInfo.InvariantCulture) + ":" + QueryHash(q)));

    private static bool TryReadPageToken(string token, string q, out int offset)
    {
        offset = 0;
        try
        {
            var s = token.Replace('-', '+').Replace('_', '/');
            s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(s));
            var parts = text.Split(':');
            return parts.Length == 2 && parts[1] == QueryHash(q) && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string QueryHash(string q) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(q)))[..12];

    /// <summary>RFC 9110 section 14.1.2, a single range: <c>bytes=A-B</c>, <c>bytes=A-</c>, <c>bytes=-N</c>. False: ignore the header (send it all).</summary>
    internal static bool TryParseRange(string header, long size, out long first, out long last, out bool satisfiable)
    {
        first = last = 0;
        satisfiable = false;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || header.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }
        var spec = header[6..].Trim();
        int dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return false;
        }
        string a = spec[..dash], b = spec[(dash + 1)..];
        if (a.Length == 0)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix))
            {
                return false;
            }
            satisfiable = suffix > 0 && size > 0;
            first = Math.Max(0, size - suffix);
            last = size - 1;
            return true;
        }
        if (!long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out first))
        {
            return false;
        }
        last = size - 1;
        if (b.Length > 0)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var end) || end < first)
            {
                return false;
            }
            last = Math.Min(end, size - 1);
        }
        satisfiable = first < size;
        return true;
    }
}
