using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Http;
using LoadPipe.Google.Upload;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// One video being uploaded through a videos.insert resumable session (Google's "Resumable Uploads" guide for the
/// YouTube Data API), written by the loop Drive shares (<see cref="ResumableUploadSession"/>): each
/// <see cref="WriteAsync"/> is one PUT of a multiple of 256 KiB and returns when the 308's Range says Google holds it,
/// bytes Google holds already are not sent twice, and more bytes than announced at the start are refused. The last
/// write carries the total and its 200/201 is the video resource, whose id <see cref="CommitAsync"/> reports. A
/// session Google forgot (404/410) is a <see cref="ResumeMismatchException"/> with nothing kept: the engine starts
/// the file again, which is a new videos.insert and spends quota again.
/// </summary>
internal sealed class YouTubeWriteSession : IWriteSession
{
    private readonly YouTubeStorage _store;
    private readonly string _path;
    private readonly ResumableUploadSession _upload;

    public YouTubeWriteSession(YouTubeStorage store, string path, ResumableUploadState state, ResumableUploadSession upload)
    {
        _store = store;
        _path = path;
        _upload = upload;
        ResumeState = state.ToJson();
    }

    public string? ResumeState { get; }

    public int ChunkAlignment => ResumableUploadClient.ChunkAlignment;

    public long Length => _upload.Length;

    private string What => $"{_store.Description}: upload of {_path}";

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _upload.WriteAsync(data, final: false, cancellationToken);

    public Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _upload.WriteAsync(data, final: true, cancellationToken);

    /// <summary>An unfinished upload cannot be read back: the engine replays the source to rebuild its hashes.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

    public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
    {
        var json = await _upload.CompleteAsync(cancellationToken).ConfigureAwait(false);
        var video = YouTubeStorage.ParseJson(json, YouTubeJson.Default.VideoResource, "videos.insert");
        if (string.IsNullOrEmpty(video.Id))
            throw new LoadPipeException(ErrorKind.Permanent, $"{What}: YouTube finished the upload without a video id");
        _store.Logger.Uploaded(_path, video.Id);
        return YouTubeStorage.Committed(_path, Length, video.Id);
    }

    public Task AbortAsync(CancellationToken cancellationToken = default) => _upload.CancelAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The session of a new upload, just started by videos.insert at <paramref name="session"/>.</summary>
    public static YouTubeWriteSession Begin(YouTubeStorage store, string path, Uri session, long total) =>
        new(store, path, new ResumableUploadState(session.AbsoluteUri, path, total),
            new ResumableUploadSession(store.Uploads, session, total, $"{store.Description}: upload of {path}"));

    /// <summary>
    /// Continues the session saved in <paramref name="json"/> after <paramref name="confirmedLength"/> bytes; null (the
    /// engine starts the file again) when the state is not ours, the session is gone or it holds fewer bytes.
    /// </summary>
    public static async Task<IWriteSession?> ResumeAsync(YouTubeStorage store, string path, string json, long confirmedLength,
        CancellationToken cancellationToken)
    {
        if (ResumableUploadState.TryParse(json) is not { } state || state.Path != path)
        {
            store.Logger.CannotResume(path, "the saved state is not a YouTube upload session of this file");
            return null;
        }
        ResumableUploadSession? upload;
        string why;
        try
        {
            (upload, why) = await ResumableUploadSession.ResumeAsync(store.Uploads, new Uri(state.Session), state.Total, confirmedLength,
                $"{store.Description}: upload of {path}", cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.Kind is ErrorKind.Permanent or ErrorKind.NotFound)
        {
            store.Logger.CannotResume(path, e.Message);
            return null;
        }
        if (upload is null)
        {
            store.Logger.CannotResume(path, why);
            return null;
        }
        store.Logger.ResumingUpload(path, why);
        return new YouTubeWriteSession(store, path, state, upload);
    }
}
