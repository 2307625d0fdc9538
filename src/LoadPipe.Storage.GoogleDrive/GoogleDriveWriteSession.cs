using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Upload;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// One file being uploaded to Drive through a resumable session (<see cref="ResumableUploadSession"/>). The session
/// is started by <see cref="GoogleDriveStorage.BeginWriteAsync"/>, so its URI is in <see cref="ResumeState"/> before
/// the first chunk; each <see cref="WriteAsync"/> is one PUT of 256 KiB multiples and returns once Google's 308 says
/// it holds them. The last write carries the total and its 200/201 is the finished file, which
/// <see cref="CommitAsync"/> checks (size, and md5Checksum when this session saw every byte) and returns.
/// </summary>
internal sealed class GoogleDriveWriteSession : IWriteSession
{
    private readonly GoogleDriveStorage _store;
    private readonly DrivePath _where;
    private readonly ResumableUploadSession _upload;
    // The MD5 of everything written, when this session saw every byte from the first; compared with Drive's at commit.
    private IncrementalHash? _md5;

    public GoogleDriveWriteSession(GoogleDriveStorage store, DrivePath where, ResumableUploadState state, ResumableUploadSession upload)
    {
        _store = store;
        _where = where;
        _upload = upload;
        ResumeState = state.ToJson();
        if (upload.Length == 0) _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    }

    public string? ResumeState { get; }

    public int ChunkAlignment => ResumableUploadClient.ChunkAlignment;

    public long Length => _upload.Length;

    private string What => $"{_where}: upload";

    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await _upload.WriteAsync(data, final: false, cancellationToken).ConfigureAwait(false);
        _md5?.AppendData(data.Span);
    }

    public async Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await _upload.WriteAsync(data, final: true, cancellationToken).ConfigureAwait(false);
        _md5?.AppendData(data.Span);
    }

    /// <summary>Drive cannot read back an unfinished upload: the engine replays the source to rebuild its hashes.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

    public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
    {
        var json = await _upload.CompleteAsync(cancellationToken).ConfigureAwait(false);
        var file = GoogleDriveStorage.ParseJson(json, DriveJson.Default.DriveFile, What);
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

    public Task AbortAsync(CancellationToken cancellationToken = default) => _upload.CancelAsync(cancellationToken);

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
    public static async Task<GoogleDriveWriteSession?> ResumeAsync(GoogleDriveStorage store, DrivePath where, string json, long confirmedLength,
        CancellationToken cancellationToken)
    {
        if (ResumableUploadState.TryParse(json) is not { } state || store.Parse(state.Path).ToString() != where.ToString())
        {
            store.Logger.CannotResume(where.ToString(), "the saved state is not a Drive upload session of this file");
            return null;
        }
        var (upload, why) = await ResumableUploadSession.ResumeAsync(store.Uploads, new Uri(state.Session), state.Total, confirmedLength,
            $"{where}: upload", cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            store.Logger.CannotResume(where.ToString(), why);
            return null;
        }
        store.Logger.ResumingUpload(where.ToString(), why);
        return new GoogleDriveWriteSession(store, where, state, upload);
    }
}
