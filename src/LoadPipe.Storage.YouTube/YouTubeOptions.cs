using System.ComponentModel.DataAnnotations;
using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Storage.YouTube;

/// <summary>The defaults, in one place; docs/adapters/youtube.md repeats them.</summary>
public static class YouTubeDefaults
{
    public const string ApiUrl = "https://www.googleapis.com/youtube/v3";
    public const string UploadUrl = "https://www.googleapis.com/upload/youtube/v3";

    /// <summary>What Google has billed for one videos.insert: 1600 units.</summary>
    public const long QuotaPerUpload = 1600;

    /// <summary>A Cloud project's default daily allowance of the YouTube Data API: 10,000 units.</summary>
    public const long DailyQuota = 10_000;

    /// <summary>Uploads a day in <see cref="YouTubeQuotaMode.Uploads"/>: 6, what 10,000 units at 1600 allowed.</summary>
    public const long DailyUploads = 6;

    public static readonly IReadOnlyList<string> Scopes =
    [
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
    ];
}

/// <summary>How the daily budget is counted.</summary>
public enum YouTubeQuotaMode
{
    /// <summary>In API units: each upload costs <see cref="YouTubeOptions.QuotaPerUpload"/> of <see cref="YouTubeOptions.DailyQuota"/>.</summary>
    Units,
    /// <summary>In uploads, Google's separate upload bucket: each upload is 1 of <see cref="YouTubeOptions.DailyUploads"/>.</summary>
    Uploads,
}

/// <summary>A `type: youtube` remote's settings. Every property has a default, stated on it.</summary>
public sealed class YouTubeOptions
{
    /// <summary>The remote's name, for messages.</summary>
    public required string Name { get; init; }

    /// <summary>`api_url`: the Data API (videos.list). Default https://www.googleapis.com/youtube/v3.</summary>
    public Uri ApiUrl { get; init; } = new(YouTubeDefaults.ApiUrl);

    /// <summary>`upload_url`: the upload endpoint (videos.insert). Default https://www.googleapis.com/upload/youtube/v3.</summary>
    public Uri UploadUrl { get; init; } = new(YouTubeDefaults.UploadUrl);

    /// <summary>`quota_mode`: units or uploads. Default units.</summary>
    public YouTubeQuotaMode QuotaMode { get; init; } = YouTubeQuotaMode.Units;

    /// <summary>`quota_per_upload`: units one upload spends (units mode). Default 1600.</summary>
    [Range(0, long.MaxValue)]
    public long QuotaPerUpload { get; init; } = YouTubeDefaults.QuotaPerUpload;

    /// <summary>`daily_quota`: units a Pacific day allows (units mode). Default 10000.</summary>
    [Range(0, long.MaxValue)]
    public long DailyQuota { get; init; } = YouTubeDefaults.DailyQuota;

    /// <summary>`daily_uploads`: uploads a Pacific day allows (uploads mode). Default 6.</summary>
    [Range(0, long.MaxValue)]
    public long DailyUploads { get; init; } = YouTubeDefaults.DailyUploads;

    /// <summary>`quota_account`: the ledger row the spending is counted in. Google counts API units per Cloud project,
    /// so remotes sharing a client should share it. Default the remote's `client_id`, else its name.</summary>
    public required string QuotaAccount { get; init; }

    /// <summary>The history of uploads is kept per remote name: a duplicate is content this remote published.</summary>
    public string HistoryAccount => "youtube:" + Name;

    /// <summary>Reads and checks the settings; a bad value is a one-line <see cref="ErrorKind.Usage"/> error.</summary>
    public static YouTubeOptions From(RemoteDefinition remote)
    {
        var where = $"{(remote.Origin.Length > 0 ? remote.Origin + ": " : "")}remote '{remote.Name}' (type youtube)";
        var mode = remote.Get("quota_mode")?.Trim().ToLowerInvariant() switch
        {
            null or "" or "units" => YouTubeQuotaMode.Units,
            "uploads" => YouTubeQuotaMode.Uploads,
            var other => throw new LoadPipeException(ErrorKind.Usage, $"{where}: quota_mode '{other}' must be units or uploads"),
        };
        var account = NonEmpty(remote.Get("quota_account")) ?? NonEmpty(remote.Get("client_id")) ?? remote.Name;
        return new YouTubeOptions
        {
            Name = remote.Name,
            ApiUrl = Url(remote, "api_url", YouTubeDefaults.ApiUrl, where),
            UploadUrl = Url(remote, "upload_url", YouTubeDefaults.UploadUrl, where),
            QuotaMode = mode,
            QuotaPerUpload = Count(remote, "quota_per_upload", YouTubeDefaults.QuotaPerUpload, where),
            DailyQuota = Count(remote, "daily_quota", YouTubeDefaults.DailyQuota, where),
            DailyUploads = Count(remote, "daily_uploads", YouTubeDefaults.DailyUploads, where),
            QuotaAccount = (mode == YouTubeQuotaMode.Units ? "youtube-units:" : "youtube-uploads:") + account,
        };
    }

    private static Uri Url(RemoteDefinition remote, string key, string fallback, string where)
    {
        var text = NonEmpty(remote.Get(key)) ?? fallback;
        if (!Uri.TryCreate(text.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new LoadPipeException(ErrorKind.Usage, $"{where}: {key} '{Location.Redact(text)}' is not an http(s) URL");
        return uri;
    }

    private static long Count(RemoteDefinition remote, string key, long fallback, string where)
    {
        var text = NonEmpty(remote.Get(key));
        if (text is null) return fallback;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new LoadPipeException(ErrorKind.Usage, $"{where}: {key} '{text}' must be a whole number, 0 or more");
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
