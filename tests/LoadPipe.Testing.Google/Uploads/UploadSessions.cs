// Hand-written: the server side of Google's resumable upload protocol, from "Perform a resumable upload"
// (https://developers.google.com/drive/api/guides/manage-uploads#resumable) and the YouTube Data API's
// "Resumable uploads" guide, which describe the same protocol. Shared by the Drive and YouTube endpoints.
using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google.Uploads;

/// <summary>What a test sees of an upload session.</summary>
public sealed record UploadSessionInfo(string Id, string Api, string Name, long Received, long? Total, bool Completed, bool Expired, long BytesReceived);

/// <summary>The completion of an upload: the resource to answer with, or null when the target no longer exists.</summary>
internal delegate JsonObject? CompleteUpload(UploadSession session, string blobPath, long size, string md5);

internal sealed class UploadSession(string id, string api, string name, string blobPath, long? total, DateTimeOffset expiresAt, CompleteUpload complete)
{
    public string Id { get; } = id;
    public string Api { get; } = api;
    public string Name { get; } = name;
    public string BlobPath { get; } = blobPath;
    public CompleteUpload Complete { get; } = complete;
    public SemaphoreSlim Gate { get; } = new(1, 1);
    public IncrementalHash Md5 { get; } = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    public long Received { get; set; }
    public long? Total { get; set; } = total;
    public DateTimeOffset ExpiresAt { get; set; } = expiresAt;
    public JsonObject? Result { get; set; }
    public long BytesReceived;

    public UploadSessionInfo Snapshot(DateTimeOffset now) =>
        new(Id, Api, Name, Received, Total, Result is not null, ExpiresAt <= now, Interlocked.Read(ref BytesReceived));
}

/// <summary>
/// Upload sessions: the bytes received so far in a file on disk, their MD5 computed as they arrive (memory per
/// request: a 64 KiB read buffer and one 256 KiB granule). The protocol, as Google documents it:
/// <list type="bullet">
/// <item>PUT with <c>Content-Range: bytes A-B/TOTAL</c> (or <c>A-B/*</c> while the size is unknown): a chunk; every
/// chunk but the last is a multiple of 256 KiB. Not the last: 308 with <c>Range: bytes=0-N</c>. The last: 200 and
/// the resource.</item>
/// <item>PUT with an empty body and <c>Content-Range: bytes */TOTAL</c> or <c>bytes */*</c>: the status query; 308
/// with the Range received so far, no Range header when nothing is stored; 200 and the resource when complete.</item>
/// <item>An unknown or expired session: 404; the client starts again.</item>
/// <item>A chunk whose connection breaks keeps only whole 256 KiB granules, as Google's servers persist data; the
/// next status query tells the client where to continue.</item>
/// </list>
/// </summary>
internal sealed class UploadSessions(string directory, TimeProvider time, TimeSpan lifetime, Faults.FaultSwitchboard faults)
{
    public const int Granule = 256 * 1024;

    private readonly ConcurrentDictionary<string, UploadSession> _sessions = new(StringComparer.Ordinal);

    public UploadSession Create(string api, string name, long? total, CompleteUpload complete)
    {
        Directory.CreateDirectory(directory);
        var id = "ABdm" + OAuth.OAuthAuthority.RandomId(60);
        var session = new UploadSession(id, api, name, Path.Combine(directory, "upload-" + Guid.NewGuid().ToString("N")), total,
            time.GetUtcNow() + lifetime, complete);
        File.WriteAllBytes(session.BlobPath, []);
        _sessions[id] = session;
        return session;
    }

    public void ExpireAll()
    {
        var past = time.GetUtcNow().AddSeconds(-1);
        foreach (var s in _sessions.Values)
        {
            s.ExpiresAt = past;
        }
    }

    public IReadOnlyList<UploadSessionInfo> Snapshot()
    {
        var now = time.GetUtcNow();
        return _sessions.Values.Select(s => s.Snapshot(now)).ToList();
    }

    public void DeleteFiles()
    {
        foreach (var s in _sessions.Values.Where(s => s.Result is null))
        {
            TryDelete(s.BlobPath);
        }
    }

    /// <summary>PUT (chunk or status query) or DELETE (cancel) on a session URI.</summary>
    public async Task HandleAsync(HttpContext context, string uploadId)
    {
        if (!_sessions.TryGetValue(uploadId, out var session) || session.ExpiresAt <= time.GetUtcNow())
        {
            if (session is not null && _sessions.TryRemove(uploadId, out _) && session.Result is null)
            {
                TryDelete(session.BlobPath);
            }
            await GoogleErrors.WriteApiErrorAsync(context, 404, "notFound", "The upload session was not found or has expired.");
            return;
        }
        if (RequestLog.Of(context) is { } record)
        {
            record.UploadSessionName = session.Name;
        }
        await session.Gate.WaitAsync(context.RequestAborted);
        try
        {
            if (HttpMethods.IsDelete(context.Request.Method))
            {
                _sessions.TryRemove(uploadId, out _);
                TryDelete(session.BlobPath);
                context.Response.StatusCode = 499; // Google answers a cancelled upload with 499 Client Closed Request.
                return;
            }
            await PutAsync(context, session);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private async Task PutAsync(HttpContext context, UploadSession session)
    {
        var request = context.Request;
        if (!TryParseContentRange(request.Headers.ContentRange.ToString(), request.ContentLength, out var range))
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badContent", "Failed to parse Content-Range header.");
            return;
        }
        if (range.Total is { } total)
        {
            if (session.Total is { } known && known != total)
            {
                await GoogleErrors.WriteApiErrorAsync(context, 400, "badContent",
                    $"The total size {total} in Content-Range differs from the size {known} given before.");
                return;
            }
            if (session.Result is null && total < session.Received)
            {
                await GoogleErrors.WriteApiErrorAsync(context, 400, "badContent", "The total size is smaller than the bytes already received.");
                return;
            }
        }
        if (session.Result is not null)
        {
            await DrainAsync(context, session);
            await GoogleErrors.WriteJsonAsync(context, session.Result, 200);
            return;
        }
        if (range.Total is { } t)
        {
            session.Total = t;
        }

        if (range.IsStatusQuery)
        {
            if (session.Total is { } size && session.Received == size)
            {
                await CompleteAsync(context, session);
                return;
            }
            await ResumeIncompleteAsync(context, session);
            return;
        }

        long first = range.First, last = range.Last;
        long length = last - first + 1;
        bool isLast = session.Total is { } whole && last + 1 == whole;
        if ((session.Total is { } bound && last + 1 > bound) || (request.ContentLength is { } cl && cl != length))
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badContent", "Content-Range does not match the request's Content-Length or the total size.");
            return;
        }
        if (!isLast && length % Granule != 0)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badContent",
                "Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, except for the final request (it's recommended to be the exact multiple of 262144).");
            return;
        }
        if (first > session.Received)
        {
            await GoogleErrors.WriteApiErrorAsync(context, 400, "badContent",
                $"Invalid request. According to the Content-Range header, the upload offset is {first} byte(s), which exceeds already uploaded size of {session.Received} byte(s).");
            return;
        }

        bool whole_ = await ReceiveAsync(context, session, first, length);
        if (!whole_)
        {
            return; // connection dropped (by the client or by a fault): nothing to answer
        }
        if (isLast)
        {
            await CompleteAsync(context, session);
        }
        else
        {
            await ResumeIncompleteAsync(context, session);
        }
    }

    /// <summary>
    /// Streams the body to the session's file from offset <see cref="UploadSession.Received"/>, skipping bytes the
    /// server already has (a chunk sent again). Returns false when the body broke off; then only whole granules are kept.
    /// </summary>
    private async Task<bool> ReceiveAsync(HttpContext context, UploadSession session, long first, long length)
    {
        long skip = session.Received - first;
        long start = session.Received;
        long? dropAfter = faults.TakeConnectionDrop();
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        var granule = ArrayPool<byte>.Shared.Rent(Granule);
        int inGranule = 0;
        long read = 0, written = 0;
        bool complete = false;
        try
        {
            await using var file = new FileStream(session.BlobPath, FileMode.Open, FileAccess.Write, FileShare.Read, 0, FileOptions.Asynchronous);
            file.SetLength(start);
            file.Position = start;
            while (read < length)
            {
                int want = (int)Math.Min(buffer.Length, length - read);
                if (dropAfter is { } limit)
                {
                    want = (int)Math.Min(want, limit - read);
                    if (want <= 0)
                    {
                        break;
                    }
                }
                int n;
                try
                {
                    n = await context.Request.Body.ReadAsync(buffer.AsMemory(0, want), context.RequestAborted);
                }
                catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
                {
                    break;
                }
                if (n == 0)
                {
                    break;
                }
                read += n;
                Interlocked.Add(ref session.BytesReceived, n);
                AddBytesToLog(context, n);
                int offset = 0;
                if (skip > 0)
                {
                    int skipped = (int)Math.Min(skip, n);
                    skip -= skipped;
                    offset = skipped;
                }
                if (offset < n)
                {
                    await file.WriteAsync(buffer.AsMemory(offset, n - offset));
                    written += n - offset;
                    // MD5 over whole granules only, so a broken chunk leaves the hash at the kept length.
                    int pos = offset;
                    while (pos < n)
                    {
                        int take = Math.Min(Granule - inGranule, n - pos);
                        Buffer.BlockCopy(buffer, pos, granule, inGranule, take);
                        inGranule += take;
                        pos += take;
                        if (inGranule == Granule)
                        {
                            session.Md5.AppendData(granule, 0, Granule);
                            inGranule = 0;
                        }
                    }
                }
            }
            complete = read == length;
            if (complete)
            {
                session.Md5.AppendData(granule, 0, inGranule);
                session.Received = start + written;
            }
            else
            {
                session.Received = start + (written - inGranule);
                file.SetLength(session.Received);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(granule);
        }
        if (!complete)
        {
            RequestLog.Of(context)?.Aborted = true;
            context.Abort();
        }
        return complete;
    }

    private async Task CompleteAsync(HttpContext context, UploadSession session)
    {
        var md5 = Convert.ToHexStringLower(session.Md5.GetHashAndReset());
        var result = session.Complete(session, session.BlobPath, session.Received, md5);
        if (result is null)
        {
            _sessions.TryRemove(session.Id, out _);
            TryDelete(session.BlobPath);
            await GoogleErrors.WriteApiErrorAsync(context, 404, "notFound", "The file being uploaded to no longer exists.");
            return;
        }
        session.Result = result;
        await GoogleErrors.WriteJsonAsync(context, result, 200);
    }

    private static Task ResumeIncompleteAsync(HttpContext context, UploadSession session)
    {
        context.Response.StatusCode = 308;
        if (session.Received > 0)
        {
            context.Response.Headers.Range = "bytes=0-" + (session.Received - 1).ToString(CultureInfo.InvariantCulture);
        }
        context.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private static async Task DrainAsync(HttpContext context, UploadSession session)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                Interlocked.Add(ref session.BytesReceived, n);
                AddBytesToLog(context, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void AddBytesToLog(HttpContext context, long n) => RequestLog.Of(context)?.AddBytes(n);

    internal readonly record struct ContentRange(bool IsStatusQuery, long First, long Last, long? Total);

    /// <summary>
    /// <c>bytes A-B/TOTAL</c>, <c>bytes A-B/*</c>, <c>bytes */TOTAL</c>, <c>bytes */*</c>. No header: the whole
    /// content in this one request (a single-request upload to a session URI).
    /// </summary>
    internal static bool TryParseContentRange(string header, long? contentLength, out ContentRange range)
    {
        range = default;
        if (string.IsNullOrEmpty(header))
        {
            long len = contentLength ?? 0;
            range = len == 0 ? new ContentRange(true, 0, -1, 0) : new ContentRange(false, 0, len - 1, len);
            return true;
        }
        if (!header.StartsWith("bytes ", StringComparison.Ordinal))
        {
            return false;
        }
        var spec = header[6..].Trim();
        int slash = spec.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return false;
        }
        string span = spec[..slash], totalText = spec[(slash + 1)..];
        long? total = null;
        if (totalText != "*")
        {
            if (!long.TryParse(totalText, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                return false;
            }
            total = t;
        }
        if (span == "*")
        {
            range = new ContentRange(true, 0, -1, total);
            return (contentLength ?? 0) == 0;
        }
        int dash = span.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(span[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var a)
            || !long.TryParse(span[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var b)
            || b < a)
        {
            return false;
        }
        range = new ContentRange(false, a, b, total);
        return true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
