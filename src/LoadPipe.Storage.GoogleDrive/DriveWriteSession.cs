using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Upload;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// One file being uploaded to Drive through a resumable session (<see cref="ResumableUploadClient"/>). The session
/// is started by <see cref="GoogleDriveStorage.BeginWriteAsync"/>, so its URI is in <see cref="ResumeState"/> before
/// the first chunk; each <see cref="WriteAsync"/> is one PUT of 256 KiB multiples and returns once Google's 308 says
/// it holds them. The last write carries the total and its 200/201 is the finished file, which
/// <see cref="CommitAsync"/> returns.
/// <para>Google cannot discard bytes it holds. What the server holds beyond the engine's offset (a chunk sent before
/// a crash or a dropped connection, but not confirmed) is the same output again, since the engine resumes only an
/// unchanged source through the same stages: those bytes are skipped rather than sent again, and only the rest goes
/// out. A write retried after a failure first asks the session where it stands (<c>bytes */TOTAL</c>). A session the
/// server no longer knows (404/410) throws <see cref="ResumeMismatchException"/> with no good chunk, on which the
/// engine starts the file again from zero.</para>
/// </summary>
internal sealed class DriveWriteSession : IWriteSession
{
    private readonly GoogleDriveStorage _store;
    private readonly DrivePath _where;
    private readonly WriteRequest _request;
    private readonly DriveResumeState _state;
    private readonly Uri _session;
    // The MD5 of everything written, when this session saw every byte from the first; compared with Drive's at commit.
    private IncrementalHash? _md5;
    private long _stored;
    private bool _uncertain;
    private string? _completed;

    public DriveWriteSession(GoogleDriveStorage store, DrivePath where, WriteRequest request, DriveResumeState state, long confirmedLength,
        long serverStored, string? completed)
    {
        _store = store;
        _where = where;
        _request = request;
        _state = state;
        _session = new Uri(state.Session);
        Length = confirmedLength;
        _stored = serverStored;
        _completed = completed;
        ResumeState = state.ToJson();
        if (confirmedLength == 0) _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    }

    public string? ResumeState { get; }

    public int ChunkAlignment => ResumableUploadClient.ChunkAlignment;

    public long Length { get; private set; }

    /// <summary>The length announced when the session started, or -1.</summary>
    private long Total => _state.Total >= 0 ? _state.Total : _request.ExpectedSize;

    private string What => $"{_where}: upload";

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => SendAsync(data, final: false, cancellationToken);

    public Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => SendAsync(data, final: true, cancellationToken);

    /// <summary>Drive cannot read back an unfinished upload: the engine replays the source to rebuild its hashes.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

    public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_completed is null)
        {
            // Every byte went out as a chunk of unknown total (or there were none): the status query with the total
            // finishes the upload.
            await SendAsync(ReadOnlyMemory<byte>.Empty, final: true, cancellationToken).ConfigureAwait(false);
        }
        var file = GoogleDriveStorage.ParseJson(_completed!, DriveJson.Default.DriveFile, What);
        if (file.Size is null || file.Md5Checksum is null)
            file = await _store.GetAsync(file.Id, _where, cancellationToken).ConfigureAwait(false) ?? file;
        if (file.Size is { } size && size != Length)
            throw new LoadPipeException(ErrorKind.Integrity, $"{_where}: Drive stored {size} bytes, {Length} were written");
        if (_md5 is not null && file.Md5Checksum is { Length: > 0 } stored)
        {
            var sent = Convert.ToHexStringLower(_md5.GetCurrentHash());
            if (!string.Equals(stored, sent, StringComparison.OrdinalIgnoreCase))
                throw new LoadPipeException(ErrorKind.Integrity, $"{_where}: Drive stored other bytes than were sent (md5 {stored.ToLowerInvariant()}, sent {sent})");
        }
        return GoogleDriveStorage.Describe(_where.ToString(), file);
    }

    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (_completed is null) await _store.Uploads.CancelAsync(_session, What, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _md5?.Dispose();
        _md5 = null;
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Continues the session in <paramref name="json"/> after <paramref name="confirmedLength"/> confirmed bytes. Null,
    /// so that the engine starts the file again, when the state is not ours, the session is gone or the server holds
    /// fewer bytes than were confirmed.
    /// </summary>
    public static async Task<DriveWriteSession?> ResumeAsync(GoogleDriveStorage store, DrivePath where, string json, long confirmedLength,
        WriteRequest request, CancellationToken cancellationToken)
    {
        if (DriveResumeState.TryParse(json) is not { } state || store.Parse(state.Path).ToString() != where.ToString())
        {
            store.Logger.CannotResume(where.ToString(), "the saved state is not a Drive upload session of this file");
            return null;
        }
        var status = await store.Uploads.QueryAsync(new Uri(state.Session), state.Total, $"{where}: upload status", cancellationToken).ConfigureAwait(false);
        switch (status.State)
        {
            case UploadState.SessionGone:
                store.Logger.CannotResume(where.ToString(), "the server no longer knows the session (expired)");
                return null;
            case UploadState.Complete:
                store.Logger.CompletedEarlier(where.ToString(), state.Total);
                return new DriveWriteSession(store, where, request, state, confirmedLength, Math.Max(confirmedLength, state.Total), status.Resource);
            case UploadState.Incomplete when status.Stored < confirmedLength:
                store.Logger.CannotResume(where.ToString(), $"the server holds {status.Stored} bytes, fewer than the {confirmedLength} confirmed");
                return null;
            default:
                store.Logger.ResumingUpload(where.ToString(), confirmedLength, status.Stored);
                return new DriveWriteSession(store, where, request, state, confirmedLength, status.Stored, null);
        }
    }

    private async Task SendAsync(ReadOnlyMemory<byte> data, bool final, CancellationToken cancellationToken)
    {
        var offset = Length;
        var end = offset + data.Length;
        var total = final ? end : Total;
        if (_completed is null && _uncertain)
        {
            // The last try failed somewhere: the server may hold all of it, part of it or none.
            Apply(await _store.Uploads.QueryAsync(_session, total, What, cancellationToken).ConfigureAwait(false), total);
            _uncertain = false;
        }
        var stalls = 0;
        while (_completed is null)
        {
            var from = (int)Math.Clamp(_stored - offset, 0, data.Length);
            UploadStatus status;
            if (from == data.Length)
            {
                if (total != end) break; // the server holds this chunk already; the upload goes on
                _uncertain = true;
                status = await _store.Uploads.QueryAsync(_session, total, What, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _uncertain = true;
                status = await _store.Uploads.PutAsync(_session, offset + from, data[from..], total, What, cancellationToken).ConfigureAwait(false);
            }
            _uncertain = false;
            var before = _stored;
            Apply(status, total);
            if (_completed is not null || (_stored >= end && total != end)) break;
            // Google may keep only part of a chunk (308 with a shorter Range): send the rest. A server that keeps
            // nothing more, try after try, is failing.
            if (_stored <= before && ++stalls >= 3)
                throw new LoadPipeException(ErrorKind.Transient, $"{What}: the server keeps answering that it holds {_stored} bytes; {end} were sent");
        }
        if (_completed is not null && Total >= 0 && end > Total)
            throw new LoadPipeException(ErrorKind.Permanent, $"{What}: more bytes ({end}) than the {Total} the upload was started with");
        _md5?.AppendData(data.Span);
        Length = end;
    }

    private void Apply(UploadStatus status, long total)
    {
        switch (status.State)
        {
            case UploadState.SessionGone:
                throw new ResumeMismatchException($"{_where}: the upload session expired or is unknown to the server");
            case UploadState.Complete:
                _completed = status.Resource ?? "{}";
                _stored = total >= 0 ? total : _stored;
                break;
            default:
                if (status.Stored < Length)
                    throw new ResumeMismatchException($"{_where}: the upload session holds {status.Stored} bytes, fewer than the {Length} confirmed");
                _stored = status.Stored;
                break;
        }
    }
}
