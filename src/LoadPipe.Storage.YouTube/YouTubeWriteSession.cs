using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Http;
using LoadPipe.Google.Upload;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// One video being uploaded through a videos.insert resumable session (Google's "Resumable Uploads" guide for the
/// YouTube Data API, spoken by <see cref="ResumableUploadClient"/>). Each <see cref="WriteAsync"/> is one PUT of a
/// multiple of 256 KiB and returns when the 308's Range says Google holds it; the last write carries the total and
/// its 200/201 is the video resource, whose id <see cref="CommitAsync"/> reports.
/// <para>Google cannot drop bytes it holds. Bytes it holds beyond the engine's offset (sent before a crash but not
/// confirmed) are the same content again, since the engine resumes only an unchanged source: they are not sent
/// twice. After a failed PUT the next write first asks where the session stands (<c>bytes */TOTAL</c>). A session
/// Google forgot (404/410) is a <see cref="ResumeMismatchException"/> with nothing kept: the engine starts the file
/// again, which is a new videos.insert and spends quota again.</para>
/// </summary>
internal sealed class YouTubeWriteSession : IWriteSession
{
    private readonly YouTubeStorage _store;
    private readonly string _path;
    private readonly WriteRequest _request;
    private readonly YouTubeResumeState _state;
    private readonly Uri _session;
    private long _stored;
    private bool _uncertain;
    private string? _video;

    public YouTubeWriteSession(YouTubeStorage store, string path, WriteRequest request, YouTubeResumeState state, long confirmedLength,
        long serverStored, string? completedResource)
    {
        _store = store;
        _path = path;
        _request = request;
        _state = state;
        _session = new Uri(state.Session);
        Length = confirmedLength;
        _stored = serverStored;
        _video = completedResource;
        ResumeState = state.ToJson();
    }

    public string? ResumeState { get; }

    public int ChunkAlignment => ResumableUploadClient.ChunkAlignment;

    public long Length { get; private set; }

    private long Total => _state.Total >= 0 ? _state.Total : _request.ExpectedSize;

    private string What => $"{_store.Description}: upload of {_path}";

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => SendAsync(data, final: false, cancellationToken);

    public Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => SendAsync(data, final: true, cancellationToken);

    /// <summary>An unfinished upload cannot be read back: the engine replays the source to rebuild its hashes.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

    public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
    {
        // No bytes went with a known total (an empty file, or stages' output): the status query with it finishes.
        if (_video is null) await SendAsync(ReadOnlyMemory<byte>.Empty, final: true, cancellationToken).ConfigureAwait(false);
        var video = YouTubeStorage.ParseJson(_video!, YouTubeJson.Default.VideoResource, "videos.insert");
        if (string.IsNullOrEmpty(video.Id))
            throw new LoadPipeException(ErrorKind.Permanent, $"{What}: YouTube finished the upload without a video id");
        _store.Logger.Uploaded(_path, video.Id);
        return YouTubeStorage.Committed(_path, Length, video.Id);
    }

    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (_video is null) await _store.Uploads.CancelAsync(_session, What, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Continues the session saved in <paramref name="json"/> after <paramref name="confirmedLength"/> bytes; null (the
    /// engine starts the file again) when the state is not ours, the session is gone or it holds fewer bytes.
    /// </summary>
    public static async Task<IWriteSession?> ResumeAsync(YouTubeStorage store, string path, string json, long confirmedLength,
        WriteRequest request, CancellationToken cancellationToken)
    {
        if (YouTubeResumeState.TryParse(json) is not { } state || state.Path != path)
        {
            store.Logger.CannotResume(path, "the saved state is not a YouTube upload session of this file");
            return null;
        }
        UploadStatus status;
        try
        {
            status = await store.Uploads.QueryAsync(new Uri(state.Session), state.Total, $"{store.Description}: upload status of {path}", cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.Kind is ErrorKind.Permanent or ErrorKind.NotFound)
        {
            store.Logger.CannotResume(path, e.Message);
            return null;
        }
        switch (status.State)
        {
            case UploadState.SessionGone:
                store.Logger.CannotResume(path, "the server no longer knows the session (expired)");
                return null;
            case UploadState.Complete:
                return new YouTubeWriteSession(store, path, request, state, confirmedLength, Math.Max(confirmedLength, state.Total), status.Resource ?? "{}");
            case UploadState.Incomplete when status.Stored < confirmedLength:
                store.Logger.CannotResume(path, $"the server holds {status.Stored} bytes, fewer than the {confirmedLength} confirmed");
                return null;
            default:
                store.Logger.ResumingUpload(path, confirmedLength, status.Stored);
                return new YouTubeWriteSession(store, path, request, state, confirmedLength, status.Stored, null);
        }
    }

    private async Task SendAsync(ReadOnlyMemory<byte> data, bool final, CancellationToken cancellationToken)
    {
        var start = Length;
        var end = start + data.Length;
        var total = final ? end : Total;
        if (_video is null && _uncertain)
        {
            // The last PUT failed on the way: Google may hold all of it, some or none.
            Apply(await _store.Uploads.QueryAsync(_session, total, What, cancellationToken).ConfigureAwait(false), total);
            _uncertain = false;
        }
        var idle = 0;
        while (_video is null)
        {
            var skip = (int)Math.Clamp(_stored - start, 0, data.Length);
            var finishing = skip == data.Length;
            if (finishing && total != end) break; // Google holds this chunk already
            var before = _stored;
            _uncertain = true;
            var status = finishing
                ? await _store.Uploads.QueryAsync(_session, total, What, cancellationToken).ConfigureAwait(false)
                : await _store.Uploads.PutAsync(_session, start + skip, data[skip..], total, What, cancellationToken).ConfigureAwait(false);
            _uncertain = false;
            Apply(status, total);
            if (_video is not null || (_stored >= end && total != end)) break;
            // Google may keep part of a chunk (a shorter Range): send the rest. One that keeps nothing, try after try, is failing.
            if (_stored <= before && ++idle >= 3)
                throw new LoadPipeException(ErrorKind.Transient, $"{What}: the server keeps answering that it holds {_stored} bytes of {end} sent");
        }
        Length = end;
    }

    private void Apply(UploadStatus status, long total)
    {
        switch (status.State)
        {
            case UploadState.SessionGone:
                throw new ResumeMismatchException($"{What}: the upload session expired or is unknown to YouTube");
            case UploadState.Complete:
                _video = status.Resource ?? "{}";
                if (total >= 0) _stored = total;
                break;
            default:
                if (status.Stored < Length)
                    throw new ResumeMismatchException($"{What}: the upload session holds {status.Stored} bytes, fewer than the {Length} confirmed");
                _stored = status.Stored;
                break;
        }
    }
}
