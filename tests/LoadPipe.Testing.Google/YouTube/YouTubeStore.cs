namespace LoadPipe.Testing.Google.YouTube;

/// <summary>An uploaded video as a test sees it: its metadata and the MD5 of the bytes received.</summary>
public sealed record YouTubeVideo(
    string Id,
    string Title,
    string? Description,
    IReadOnlyList<string> Tags,
    string? CategoryId,
    string PrivacyStatus,
    long Size,
    string Md5,
    DateTimeOffset PublishedAt);

/// <summary>The channel's videos (metadata in memory; content files on disk until the video is deleted). Thread-safe.</summary>
public sealed class YouTubeStore(TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (YouTubeVideo Video, string Blob)> _videos = new(StringComparer.Ordinal);

    /// <summary>While true, videos.insert answers 403 <c>quotaExceeded</c> (the project's daily quota is spent).</summary>
    public bool QuotaExceeded { get; set; }

    /// <summary>While true, videos.insert answers 403 <c>uploadLimitExceeded</c> (the channel's upload limit).</summary>
    public bool UploadLimitExceeded { get; set; }

    public IReadOnlyList<YouTubeVideo> Videos
    {
        get
        {
            lock (_gate)
            {
                return _videos.Values.Select(v => v.Video).OrderBy(v => v.PublishedAt).ToList();
            }
        }
    }

    public YouTubeVideo? Get(string id)
    {
        lock (_gate)
        {
            return _videos.TryGetValue(id, out var v) ? v.Video : null;
        }
    }

    public Stream OpenContent(string id)
    {
        string blob;
        lock (_gate)
        {
            blob = _videos.TryGetValue(id, out var v) ? v.Blob : throw new FileNotFoundException($"no video has the id {id}");
        }
        return new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    }

    /// <summary>Deletes a video (as its owner would in YouTube Studio); returns false when there was none.</summary>
    public bool DeleteVideo(string id)
    {
        string blob;
        lock (_gate)
        {
            if (!_videos.Remove(id, out var v))
            {
                return false;
            }
            blob = v.Blob;
        }
        File.Delete(blob);
        return true;
    }

    internal YouTubeVideo Add(string title, string? description, IReadOnlyList<string> tags, string? categoryId, string privacyStatus, string blob, long size, string md5)
    {
        var video = new YouTubeVideo(OAuth.OAuthAuthority.RandomId(11), title, description, tags, categoryId, privacyStatus, size, md5, time.GetUtcNow());
        lock (_gate)
        {
            _videos[video.Id] = (video, blob);
        }
        return video;
    }
}
