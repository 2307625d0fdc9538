using System.Runtime.CompilerServices;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Google.Http;
using LoadPipe.Google.Upload;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// A YouTube channel as a write-only sink: each file written becomes a video (videos.insert as a resumable upload,
/// https://developers.google.com/youtube/v3/docs/videos/insert), with its snippet and status from
/// <see cref="VideoMetadata"/> (title default: the file name without its extension; privacy default: private).
/// Hand-written on HttpClient: there is no Google.Apis.YouTube.v3 package here, and the engine writes chunk by chunk.
/// <list type="bullet">
/// <item>Reading: none. <see cref="StatAsync"/> says the root is a folder (so <c>yt:</c> takes the file's name) and
/// nothing else exists; <see cref="ListAsync"/> of the root lists the videos this remote uploaded, from the manifest's
/// upload history (name: the video id).</item>
/// <item>Quota: each new upload spends its cost in the manifest's adapter state before videos.insert (<see cref="YouTubeQuota"/>).</item>
/// <item>Duplicates: content whose MD5 this remote uploaded before is not uploaded again while that video exists
/// (videos.list); a deleted video is forgotten and the content uploaded anew (<see cref="IDeduplicatingWriter"/>).</item>
/// </list>
/// </summary>
public sealed class YouTubeStorage : IStorage, IWritableStorage, IResumableWriter, IDeduplicatingWriter
{
    private readonly Func<CancellationToken, Task<IManifest>> _manifest;
    private readonly TimeProvider _time;
    private YouTubeQuota? _quota;

    internal YouTubeStorage(YouTubeOptions options, ResumableUploadClient uploads, Func<CancellationToken, Task<IManifest>> manifest,
        TimeProvider time, ILogger logger)
    {
        Options = options;
        Uploads = uploads;
        _manifest = manifest;
        _time = time;
        Logger = logger;
    }

    public YouTubeOptions Options { get; }

    internal ResumableUploadClient Uploads { get; }

    internal ILogger Logger { get; }

    public string Description => $"youtube '{Options.Name}'";

    public static string WatchUrl(string videoId) => "https://www.youtube.com/watch?v=" + Uri.EscapeDataString(videoId);

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (path.Trim('/').Length != 0)
            throw new LoadPipeException(ErrorKind.NotFound, $"{Description}: '{path}' does not exist: a channel has no folders (list '{Options.Name}:')");
        var ledger = await LedgerAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var upload in ledger.ListUploadsAsync(Options.HistoryAccount, cancellationToken).ConfigureAwait(false))
            yield return Describe(upload);
    }

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult(path.Trim('/').Length == 0 ? new ObjectInfo { Path = path, IsDirectory = true } : null);

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        throw new LoadPipeException(ErrorKind.Usage, $"{Description}: a YouTube remote can only be written to");

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Pays the upload's quota, then starts the videos.insert session (its URI goes in the resume state).</summary>
    public async Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
    {
        var metadata = MetadataOf(request);
        var title = TitleOf(path, metadata);
        var quota = await QuotaAsync(cancellationToken).ConfigureAwait(false);
        await quota.PayAsync(path, cancellationToken).ConfigureAwait(false);
        var initiate = new Uri(Options.UploadUrl, "videos?uploadType=resumable&part=snippet,status");
        Uri session;
        try
        {
            session = await Uploads.StartAsync(HttpMethod.Post, initiate, metadata.InsertBody(title), request.ExpectedSize,
                request.ContentType ?? "video/*", $"{Description}: videos.insert '{title}'", cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException e) when (e.IsQuotaExhausted)
        {
            quota.Started(path);
            throw await quota.ServerRefusedAsync(e.Reason!, cancellationToken).ConfigureAwait(false);
        }
        quota.Started(path);
        Logger.UploadStarted(path, title, request.ExpectedSize);
        return YouTubeWriteSession.Begin(this, path, session, request.ExpectedSize);
    }

    public Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default) =>
        YouTubeWriteSession.ResumeAsync(this, path, resumeState, confirmedLength, cancellationToken);

    /// <summary>The video of the same content (by MD5) this remote uploaded, if it still exists; a deleted one is forgotten.</summary>
    public async Task<ObjectInfo?> FindDuplicateAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
    {
        if (!request.Hashes.TryGetValue("md5", out var md5))
        {
            Logger.NoHashNoCheck(path);
            return null;
        }
        var ledger = await LedgerAsync(cancellationToken).ConfigureAwait(false);
        if (await ledger.FindUploadAsync(Options.HistoryAccount, md5, cancellationToken).ConfigureAwait(false) is not { } upload) return null;
        if (await VideoExistsAsync(upload.RemoteId, cancellationToken).ConfigureAwait(false))
        {
            Logger.DuplicateFound(path, upload.RemoteId);
            return Describe(upload);
        }
        Logger.DuplicateDeleted(path, upload.RemoteId);
        await ledger.ForgetUploadAsync(Options.HistoryAccount, upload.RemoteId, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Records the new video under the MD5 of the bytes sent.</summary>
    public async Task RememberAsync(string path, WriteRequest written, ObjectInfo committed, CancellationToken cancellationToken = default)
    {
        if (!written.Hashes.TryGetValue("md5", out var md5) || !committed.Properties.TryGetValue("video_id", out var videoId)) return;
        var ledger = await LedgerAsync(cancellationToken).ConfigureAwait(false);
        await ledger.RecordUploadAsync(new UploadRecord(Options.HistoryAccount, md5, videoId, written.Source ?? path, written.ExpectedSize,
            TitleOf(path, MetadataOf(written)), _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>videos.list with the id: Google answers 200 with no items for a video that was deleted.</summary>
    internal async Task<bool> VideoExistsAsync(string videoId, CancellationToken cancellationToken)
    {
        await (await QuotaAsync(cancellationToken).ConfigureAwait(false)).PayForListAsync(cancellationToken).ConfigureAwait(false);
        var uri = new Uri(Options.ApiUrl, "videos?part=id&id=" + Uri.EscapeDataString(videoId));
        using var response = await Uploads.Api.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), $"{Description}: videos.list {videoId}",
            HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var list = ParseJson(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false), YouTubeJson.Default.VideoListResponse, "videos.list");
        return list.Items?.Any(v => v.Id == videoId) == true;
    }

    internal static ObjectInfo Committed(string path, long size, string videoId) => new()
    {
        Path = path,
        Size = size,
        Version = videoId,
        Properties = new Dictionary<string, string> { ["video_id"] = videoId, ["url"] = WatchUrl(videoId) },
    };

    private static ObjectInfo Describe(UploadRecord upload) => new()
    {
        Path = upload.RemoteId,
        Size = upload.Size,
        Modified = upload.UploadedAt,
        Version = upload.RemoteId,
        Hashes = new Dictionary<string, string> { ["md5"] = upload.Md5 },
        Properties = new Dictionary<string, string> { ["video_id"] = upload.RemoteId, ["url"] = WatchUrl(upload.RemoteId) },
    };

    internal static T ParseJson<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new LoadPipeException(ErrorKind.Permanent, $"YouTube answered {what} with JSON LoadPipe cannot read ({e.Message.Split('.')[0]})");
        }
    }

    private static VideoMetadata MetadataOf(WriteRequest request) =>
        request.Metadata.TryGetValue(VideoMetadata.MetadataKey, out var json) ? VideoMetadata.Parse(json, "video metadata") : VideoMetadata.Empty;

    /// <summary>The metadata's title, else the file name without its extension.</summary>
    private static string TitleOf(string path, VideoMetadata metadata)
    {
        if (!string.IsNullOrWhiteSpace(metadata.Title)) return metadata.Title;
        var name = path.TrimEnd('/');
        name = name[(name.LastIndexOf('/') + 1)..];
        return VideoMetadata.CleanTitle(Path.GetFileNameWithoutExtension(name));
    }

    private async Task<YouTubeLedger> LedgerAsync(CancellationToken cancellationToken) =>
        new(await _manifest(cancellationToken).ConfigureAwait(false) as IAdapterStateStore
            ?? throw new LoadPipeException(ErrorKind.Usage, $"{Description}: the manifest keeps no adapter state for the quota ledger and upload history (it needs SQLite or PostgreSQL)"));

    private async Task<YouTubeQuota> QuotaAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _quota) is { } quota) return quota;
        var created = new YouTubeQuota(Options, await LedgerAsync(cancellationToken).ConfigureAwait(false), _time);
        return Interlocked.CompareExchange(ref _quota, created, null) ?? created;
    }
}
