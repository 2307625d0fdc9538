using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Upload;

/// <summary>
/// One resumable upload as the engine writes it: sequential writes from offset 0, each returning once Google's 308
/// says it holds them, the last carrying the total. Service-neutral (Drive files, YouTube videos): the caller turns
/// <see cref="CompletedResource"/> into its own result.
/// <para>Google cannot drop bytes it holds. What it holds beyond <see cref="Length"/> (a chunk sent but not
/// confirmed before a crash, or whose answer was lost) is the same bytes again, as the engine only continues an
/// unchanged source through the same stages: that part of the next write is skipped, and only the rest is sent. A
/// write after a failed one first asks the session where it stands (<c>bytes */TOTAL</c>), so a retry sends only
/// what is missing. A session the server no longer knows throws <see cref="ResumeMismatchException"/> with no good
/// chunk: the engine starts the file again from zero.</para>
/// </summary>
public sealed class ResumableUploadSession
{
    private const int MaxStalls = 3;
    private readonly ResumableUploadClient _client;
    private readonly string _what;
    private long _stored;
    private bool _uncertain;

    /// <param name="total">The content length announced when the session was started, or -1.</param>
    /// <param name="what">The object, for messages ("mydrive:Projects/x.bin: upload"); never the session URI.</param>
    public ResumableUploadSession(ResumableUploadClient client, Uri uri, long total, string what, long confirmedLength = 0,
        long serverStored = 0, string? completedResource = null)
    {
        _client = client;
        Uri = uri;
        Total = total;
        _what = what;
        Length = confirmedLength;
        _stored = Math.Max(serverStored, confirmedLength);
        CompletedResource = completedResource;
    }

    /// <summary>The session URI: the credential of this one upload. Save it privately; never print it.</summary>
    public Uri Uri { get; }

    /// <summary>The content length announced at the start, or -1 when it was unknown.</summary>
    public long Total { get; }

    /// <summary>Bytes written so far: the offset of the next write.</summary>
    public long Length { get; private set; }

    /// <summary>The final answer's JSON (the file or video resource) once the upload is complete, else null.</summary>
    public string? CompletedResource { get; private set; }

    /// <summary>
    /// Continues a saved session after <paramref name="confirmedLength"/> confirmed bytes: null (and why) when the
    /// server no longer knows it or holds fewer bytes than were confirmed. A session completed by an earlier try whose
    /// answer was lost comes back complete.
    /// </summary>
    public static async Task<(ResumableUploadSession? Session, string Why)> ResumeAsync(ResumableUploadClient client, Uri uri, long total,
        long confirmedLength, string what, CancellationToken cancellationToken = default)
    {
        var status = await client.QueryAsync(uri, total, what, cancellationToken).ConfigureAwait(false);
        return status.State switch
        {
            UploadState.SessionGone => (null, "the server no longer knows the session (expired)"),
            UploadState.Complete => (new ResumableUploadSession(client, uri, total, what, confirmedLength, Math.Max(confirmedLength, total), status.Resource),
                "the upload was completed by an earlier try whose answer was lost"),
            _ when status.Stored < confirmedLength => (null, $"the server holds {status.Stored} bytes, fewer than the {confirmedLength} confirmed"),
            _ => (new ResumableUploadSession(client, uri, total, what, confirmedLength, status.Stored),
                $"{confirmedLength} bytes confirmed, the server holds {status.Stored}"),
        };
    }

    /// <summary>Sends <paramref name="data"/> as the bytes at <see cref="Length"/>; every write but the last a
    /// multiple of <see cref="ResumableUploadClient.ChunkAlignment"/>. <paramref name="final"/> gives the total.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> data, bool final, CancellationToken cancellationToken = default)
    {
        var offset = Length;
        var end = offset + data.Length;
        var total = final ? end : Total;
        if (Total >= 0 && end > Total)
            throw new SourceChangedException($"{_what}: more bytes ({end}) than the {Total} the source had when the upload started");
        if (CompletedResource is null && _uncertain)
        {
            // The last try failed somewhere: the server may hold all of it, part of it or none.
            Apply(await _client.QueryAsync(Uri, total, _what, cancellationToken).ConfigureAwait(false), total);
            _uncertain = false;
        }
        var stalls = 0;
        while (CompletedResource is null)
        {
            var from = (int)Math.Clamp(_stored - offset, 0, data.Length);
            if (from == data.Length && total != end) break; // the server holds this chunk already; the upload goes on
            _uncertain = true;
            var status = from == data.Length
                ? await _client.QueryAsync(Uri, total, _what, cancellationToken).ConfigureAwait(false) // all there but the completion
                : await _client.PutAsync(Uri, offset + from, data[from..], total, _what, cancellationToken).ConfigureAwait(false);
            _uncertain = false;
            var before = _stored;
            Apply(status, total);
            if (CompletedResource is not null || (_stored >= end && total != end)) break;
            // Google may keep only part of a chunk (308 with a shorter Range): the rest goes again. A server that
            // keeps nothing more, try after try, is failing.
            if (_stored <= before && ++stalls >= MaxStalls)
                throw new LoadPipeException(ErrorKind.Transient, $"{_what}: the server keeps answering that it holds {_stored} bytes; {end} were sent");
        }
        Length = end;
    }

    /// <summary>Finishes the upload if the writes did not (an empty file, or every byte sent with an unknown total),
    /// and returns the final resource's JSON.</summary>
    public async Task<string> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (CompletedResource is null) await WriteAsync(ReadOnlyMemory<byte>.Empty, final: true, cancellationToken).ConfigureAwait(false);
        return CompletedResource!;
    }

    /// <summary>Drops the session unless it completed (best effort).</summary>
    public Task CancelAsync(CancellationToken cancellationToken = default) =>
        CompletedResource is null ? _client.CancelAsync(Uri, _what, cancellationToken) : Task.CompletedTask;

    private void Apply(UploadStatus status, long total)
    {
        switch (status.State)
        {
            case UploadState.SessionGone:
                throw new ResumeMismatchException($"{_what}: the upload session expired or is unknown to the server");
            case UploadState.Complete:
                CompletedResource = status.Resource ?? "{}";
                if (total >= 0) _stored = total;
                break;
            default:
                if (status.Stored < Length)
                    throw new ResumeMismatchException($"{_what}: the upload session holds {status.Stored} bytes, fewer than the {Length} confirmed");
                _stored = status.Stored;
                break;
        }
    }
}
