using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.S3;

/// <summary>
/// One object being written to S3. An object that fits in its first write (smaller than the minimum part, or
/// exactly the expected size) is held in memory and sent by one PutObject at commit. Anything larger is a
/// multipart upload, started at the first write: each chunk is one UploadPart (part number = chunk index + 1), with
/// Content-MD5, acknowledged before its write returns; its ETag goes into <see cref="ResumeState"/>, which the engine
/// saves with the chunk, so a new process can continue (<see cref="ResumeAsync"/>) and complete the upload. Up to
/// <see cref="MaxWritesInFlight"/> parts are sent at once (the engine confirms them in order).
/// <para>Parts must be at least 5 MiB (but the last) and at most 10,000: <see cref="MinimumWriteSize"/> is 5 MiB,
/// grown for large objects so that the engine's writes, one part each, stay under 10,000. The engine then writes
/// parts of its chunk size or this minimum, whichever is larger. A retried write re-sends the same part number,
/// which S3 overwrites. Bodies are sent whole with their length, never aws-chunked (UseChunkEncoding = false):
/// s3rver and some other servers would store the chunk framing as data.</para>
/// </summary>
internal sealed class S3WriteSession : IConcurrentWriteSession
{
    private readonly S3Storage _store;
    private readonly S3Path _where;
    private readonly WriteRequest _request;
    private readonly long _partSize;
    private readonly List<S3Part> _parts;
    private readonly Lock _lock = new();
    private string? _uploadId;
    private Task<string>? _starting;
    private byte[]? _whole;
    private string? _state;

    public S3WriteSession(S3Storage store, S3Path where, WriteRequest request, long partSize, string? uploadId = null, List<S3Part>? parts = null)
    {
        _store = store;
        _where = where;
        _request = request;
        _partSize = partSize;
        _uploadId = uploadId;
        _parts = parts ?? [];
        Length = _parts.Sum(p => p.Size);
        MaxWritesInFlight = store.Options.UploadConcurrency;
    }

    private IAmazonS3 Client => _store.Client;

    /// <summary>The smallest part for an object of <paramref name="expectedSize"/> bytes (-1: unknown): 5 MiB, or
    /// the size over 10,000 rounded up to a MiB when that is more.</summary>
    public static long MinimumPartSize(long expectedSize)
    {
        if (expectedSize <= 0) return S3Defaults.MinPartSize;
        var needed = (expectedSize + S3Defaults.MaxParts - 1) / S3Defaults.MaxParts;
        const long MiB = 1 << 20;
        return Math.Max(S3Defaults.MinPartSize, (needed + MiB - 1) / MiB * MiB);
    }

    /// <summary>Null until a part is acknowledged: before that there is nothing to resume (and a failed session is
    /// aborted by the engine, so no upload is left behind).</summary>
    public string? ResumeState
    {
        get
        {
            lock (_lock)
                return _uploadId is null || _parts.Count == 0 ? null
                    : _state ??= new S3ResumeState(_where.Bucket, _where.Key, _uploadId, _partSize, [.. _parts.OrderBy(p => p.Number)]).ToJson();
        }
    }

    /// <summary>`upload_concurrency` of the remote (default 4): parts sent at once.</summary>
    public int MaxWritesInFlight { get; }

    public int ChunkAlignment => 1;

    public long MinimumWriteSize => SmallObject ? Math.Max(1, _request.ExpectedSize) : _partSize;

    /// <summary>An object known to be smaller than a part: the whole of it, one PutObject, so the engine's buffer is
    /// the object's size rather than a chunk (4 KiB, not 8 MiB, for each of many small files). Otherwise null: the
    /// engine's chunk size, or <see cref="MinimumWriteSize"/> (the part size S3 needs) when that is larger.</summary>
    public int? PreferredWriteSize => SmallObject ? (int)Math.Max(1, _request.ExpectedSize) : null;

    /// <summary>Fresh, and of a known size under one part: it goes in one write, as one PutObject.</summary>
    private bool SmallObject => _uploadId is null && _parts.Count == 0 && _request.ExpectedSize >= 0 && _request.ExpectedSize < _partSize;

    public long Length { get; private set; }

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        int index;
        long offset;
        lock (_lock) (index, offset) = (_parts.Count, Length);
        return WriteChunkAsync(index, offset, data, cancellationToken);
    }

    public async Task WriteChunkAsync(int index, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            // More bytes than the source said it had when the upload began: it is growing, so the object is another content.
            if (_whole is not null) throw new SourceChangedException($"{_where}: more bytes than the {_request.ExpectedSize} expected");
            if (_uploadId is null && _starting is null && index == 0 && (data.Length < _partSize || data.Length == _request.ExpectedSize))
            {
                // The whole object in one write: one PutObject at commit, no multipart upload to leave behind.
                _whole = data.ToArray();
                Length = data.Length;
                return;
            }
        }
        var number = index + 1;
        if (number > S3Defaults.MaxParts)
            throw new LoadPipeException(ErrorKind.Permanent,
                $"{_where}: more than {S3Defaults.MaxParts} parts of {_partSize} bytes: the object is larger than expected; copy it again with a larger --chunk-size");

        // The part's MD5 (its Content-MD5, and what its ETag is checked against), computed once. Inline: on a task of
        // its own (Task.Run) it gained no time and cost ~45 MiB of RSS at 16 MiB parts (buffers went back to the pool
        // on other threads and were allocated anew).
        var md5 = MD5.HashData(data.Span);
        var uploadId = await UploadIdAsync(cancellationToken).ConfigureAwait(false);
        var response = await _store.CallAsync(_where, ct =>
        {
            var request = new UploadPartRequest
            {
                BucketName = _where.Bucket, Key = _where.Key, UploadId = uploadId, PartNumber = number,
                InputStream = AsStream(data), PartSize = data.Length, MD5Digest = Convert.ToBase64String(md5),
                UseChunkEncoding = false,
            };
            return Client.UploadPartAsync(request, ct);
        }, cancellationToken).ConfigureAwait(false);
        var etag = Unquote(response.ETag);
        CheckETag(etag, md5, IsKms(response.ServerSideEncryptionMethod), $"part {number}");
        lock (_lock)
        {
            // A retried part replaces the one sent before (S3 keeps the last upload of a part number).
            if (_parts.FindIndex(p => p.Number == number) is var i and >= 0)
            {
                Length -= _parts[i].Size;
                _parts.RemoveAt(i);
            }
            _parts.Add(new S3Part(number, etag, data.Length));
            _state = null;
            Length += data.Length;
        }
    }

    /// <summary>The multipart upload's id, started by the first part that needs it; the parts sent with it wait.</summary>
    private Task<string> UploadIdAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_uploadId is { } id) return Task.FromResult(id);
            if (_starting is null || _starting.IsFaulted || _starting.IsCanceled)
                _starting = StartAsync();
            return _starting.WaitAsync(cancellationToken);
        }

        async Task<string> StartAsync()
        {
            var started = await StartUploadAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock) _uploadId = started;
            return started;
        }
    }

    /// <summary>S3 cannot read back the parts of an unfinished upload: the engine replays the source instead.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

    public Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default) =>
        _uploadId is null ? PutWholeAsync(cancellationToken) : CompleteAsync(cancellationToken);

    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        _whole = null;
        if (_uploadId is not { } uploadId) return;
        try
        {
            await _store.CallAsync(_where, ct => Client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = _where.Bucket, Key = _where.Key, UploadId = uploadId,
            }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (LoadPipeException e) when (S3Errors.Code(e) == "NoSuchUpload")
        {
            // Already gone: completed, aborted or expired. Nothing to drop.
        }
        catch (LoadPipeException e) when (S3Errors.IsUnsupported(e))
        {
            _store.Logger.AbortUnsupported(_where.ToString(), _store.Server, uploadId, S3Errors.Code(e));
        }
        lock (_lock)
        {
            _uploadId = null;
            _starting = null;
            _parts.Clear();
            _state = null;
            Length = 0;
        }
    }

    /// <summary>Nothing to release: an unfinished upload must outlive the process, to be resumed or aborted.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Continues the upload described by <paramref name="json"/>, keeping exactly the parts that make up the first
    /// <paramref name="confirmedLength"/> bytes. ListParts checks the server still holds each of them with the same
    /// ETag and size; parts after them (sent, but not confirmed before the crash) are left to be overwritten, and are
    /// not named at completion. Null, so the engine starts again, when the upload is gone (NoSuchUpload) or a kept
    /// part is missing or differs. A server without ListParts (405/501) is trusted on the state alone, with a warning.
    /// </summary>
    public static async Task<S3WriteSession?> ResumeAsync(S3Storage store, S3Path where, string json, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken)
    {
        var state = S3ResumeState.TryParse(json);
        if (state is null || state.Bucket != where.Bucket || state.Key != where.Key) return null;
        var kept = new List<S3Part>();
        long end = 0;
        foreach (var part in state.Parts.OrderBy(p => p.Number))
        {
            if (end == confirmedLength) break;
            if (part.Number != kept.Count + 1) break;
            kept.Add(part);
            end += part.Size;
        }
        if (end != confirmedLength)
        {
            store.Logger.CannotResume(where.ToString(), state.UploadId,
                $"the manifest confirms {confirmedLength} bytes, but the recorded parts end at {end}");
            return null;
        }
        var session = new S3WriteSession(store, where, request, state.PartSize, state.UploadId, kept);
        if (kept.Count == 0) return session; // asked for only to abort it

        Dictionary<int, PartDetail> listed;
        try
        {
            listed = await ListPartsAsync(store, where, state.UploadId, cancellationToken).ConfigureAwait(false);
        }
        catch (LoadPipeException e) when (S3Errors.IsUnsupported(e))
        {
            store.Logger.ListPartsUnsupported(where.ToString(), store.Server, state.UploadId, S3Errors.Code(e), kept.Count);
            return session;
        }
        catch (LoadPipeException e) when (e.Kind == ErrorKind.NotFound)
        {
            store.Logger.CannotResume(where.ToString(), state.UploadId, $"the server no longer has it ({S3Errors.Code(e) ?? "404"})");
            return null;
        }
        foreach (var part in kept)
        {
            if (!listed.TryGetValue(part.Number, out var there))
            {
                store.Logger.CannotResume(where.ToString(), state.UploadId, $"confirmed part {part.Number} is missing on the server");
                return null;
            }
            if (Unquote(there.ETag) != part.ETag || there.Size != part.Size)
            {
                store.Logger.CannotResume(where.ToString(), state.UploadId,
                    $"part {part.Number} on the server (ETag {Unquote(there.ETag)}, {there.Size} bytes) differs from the confirmed one (ETag {part.ETag}, {part.Size} bytes)");
                return null;
            }
        }
        store.Logger.ResumingUpload(where.ToString(), state.UploadId, listed.Count, kept.Count, confirmedLength);
        return session;
    }

    /// <summary>"md5" from an ETag that is one ("\"9e107d9d372bb6826bd81d3542a419d6\""), else null (multipart "...-3").</summary>
    internal static string? Md5OfETag(string? etag)
    {
        var e = Unquote(etag);
        return e.Length == 32 && e.All(char.IsAsciiHexDigit) ? e.ToLowerInvariant() : null;
    }

    private static async Task<Dictionary<int, PartDetail>> ListPartsAsync(S3Storage store, S3Path where, string uploadId, CancellationToken cancellationToken)
    {
        var parts = new Dictionary<int, PartDetail>();
        string? marker = null;
        while (true)
        {
            var page = await store.CallAsync(where, ct => store.Client.ListPartsAsync(new ListPartsRequest
            {
                BucketName = where.Bucket, Key = where.Key, UploadId = uploadId, MaxParts = 1000, PartNumberMarker = marker,
            }, ct), cancellationToken).ConfigureAwait(false);
            foreach (var part in page.Parts ?? [])
                if (part.PartNumber is { } number) parts[number] = part;
            var next = page.NextPartNumberMarker?.ToString(CultureInfo.InvariantCulture);
            if (page.IsTruncated != true || next is null || next == marker) return parts;
            marker = next;
        }
    }

    private async Task<string> StartUploadAsync(CancellationToken cancellationToken)
    {
        var response = await _store.CallAsync(_where, ct =>
        {
            var request = new InitiateMultipartUploadRequest { BucketName = _where.Bucket, Key = _where.Key, ContentType = _request.ContentType };
            AddModifiedTime(request.Metadata);
            return Client.InitiateMultipartUploadAsync(request, ct);
        }, cancellationToken).ConfigureAwait(false);
        _store.Logger.UploadStarted(_where.ToString(), response.UploadId, _partSize);
        return response.UploadId;
    }

    private async Task<ObjectInfo> PutWholeAsync(CancellationToken cancellationToken)
    {
        var body = _whole ?? [];
        var md5 = MD5.HashData(body);
        var response = await _store.CallAsync(_where, ct =>
        {
            var request = new PutObjectRequest
            {
                BucketName = _where.Bucket, Key = _where.Key, InputStream = new MemoryStream(body, writable: false),
                ContentType = _request.ContentType, UseChunkEncoding = false,
            };
            request.Headers.ContentMD5 = Convert.ToBase64String(md5);
            AddModifiedTime(request.Metadata);
            return Client.PutObjectAsync(request, ct);
        }, cancellationToken).ConfigureAwait(false);
        CheckETag(Unquote(response.ETag), md5, IsKms(response.ServerSideEncryptionMethod), "the object");
        _whole = null;
        var hashes = new Dictionary<string, string> { ["md5"] = Convert.ToHexStringLower(md5) };
        return new ObjectInfo { Path = _where.ToString(), Size = body.Length, Version = response.ETag, Hashes = hashes };
    }

    private async Task<ObjectInfo> CompleteAsync(CancellationToken cancellationToken)
    {
        var uploadId = _uploadId!;
        try
        {
            var response = await _store.CallAsync(_where, ct => Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _where.Bucket, Key = _where.Key, UploadId = uploadId,
                PartETags = _parts.OrderBy(p => p.Number).Select(p => new PartETag(p.Number, Quote(p.ETag))).ToList(),
            }, ct), cancellationToken).ConfigureAwait(false);
            return new ObjectInfo { Path = _where.ToString(), Size = Length, Version = response.ETag };
        }
        catch (LoadPipeException e) when (S3Errors.Code(e) == "NoSuchUpload")
        {
            // A retry after an answer that was lost: the first try may have completed the upload.
            if (await _store.HeadAsync(_where, cancellationToken).ConfigureAwait(false) is not { } head || head.ContentLength != Length) throw;
            _store.Logger.CompletedEarlier(_where.ToString(), Length);
            return new ObjectInfo { Path = _where.ToString(), Size = Length, Version = head.ETag };
        }
    }

    /// <summary>The ETag of a plain (not KMS-encrypted) upload is the MD5 of the bytes the server stored: a mismatch
    /// means it stored something else (such as aws-chunked framing).</summary>
    private void CheckETag(string etag, byte[] md5, bool kms, string what)
    {
        if (kms || Md5OfETag(etag) is not { } stored) return;
        var sent = Convert.ToHexStringLower(md5);
        if (stored != sent)
            throw new LoadPipeException(ErrorKind.Integrity, $"{_where}: {what}: the server stored other bytes than were sent (ETag {stored}, MD5 {sent})");
    }

    /// <summary>The source's modified time as x-amz-meta-mtime, in rclone's format (Unix seconds with a fraction).</summary>
    private void AddModifiedTime(MetadataCollection metadata)
    {
        if (_request.Modified is not { } modified || modified.UtcDateTime < DateTime.UnixEpoch) return;
        var ticks = modified.UtcDateTime.Ticks - DateTime.UnixEpoch.Ticks;
        metadata.Add("mtime", string.Create(CultureInfo.InvariantCulture,
            $"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond * 100:D9}"));
    }

    private static bool IsKms(ServerSideEncryptionMethod? method) => method?.Value?.StartsWith("aws:kms", StringComparison.Ordinal) == true;

    private static MemoryStream AsStream(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    private static string Unquote(string? etag) => (etag ?? "").Trim('"');

    private static string Quote(string etag) => $"\"{etag}\"";
}
