using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// What the YouTube sink keeps beside the transfers, in the manifest's adapter state (<see cref="IAdapterStateStore"/>):
/// the quota it spent per account and Pacific day, and the history of what it published, by content MD5, so that the
/// same content is not published twice. <c>account</c> arguments are the scopes: a remote and its quota bucket
/// (<see cref="YouTubeOptions.QuotaAccount"/>, <see cref="YouTubeOptions.HistoryAccount"/>).
/// <list type="bullet">
/// <item>A day's quota is the counter <c>quota/YYYY-MM-DD</c>.</item>
/// <item>A published video is <c>upload/MD5</c> (lowercase hex), whose value is <see cref="UploadHistoryEntry"/>'s JSON.</item>
/// </list>
/// The manifests' migration from the former tables <c>quota_spent</c> and <c>upload_history</c> writes this layout:
/// change it only with a migration of the rows.
/// </summary>
internal sealed class YouTubeLedger(IAdapterStateStore store)
{
    private const string QuotaPrefix = "quota/";
    private const string UploadPrefix = "upload/";

    /// <summary>
    /// Adds <paramref name="units"/> to what <paramref name="account"/> spent on <paramref name="day"/> if the total
    /// stays within <paramref name="budget"/>, else changes nothing; check and add are one step across processes.
    /// </summary>
    public Task<CounterAdd> TrySpendQuotaAsync(string account, DateOnly day, long units, long budget, CancellationToken cancellationToken = default) =>
        store.TryAddAsync(account, QuotaKey(day), units, budget, cancellationToken);

    /// <summary>Units <paramref name="account"/> spent on <paramref name="day"/>; 0 when nothing was recorded.</summary>
    public async Task<long> GetQuotaSpentAsync(string account, DateOnly day, CancellationToken cancellationToken = default) =>
        await store.GetStateAsync(account, QuotaKey(day), cancellationToken).ConfigureAwait(false) is { } units
            ? long.Parse(units, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;

    /// <summary>
    /// Raises the day's total to at least <paramref name="units"/> (never lowers it): for when the server says the
    /// quota is gone while the ledger thought otherwise (another tool spent it), so later runs that day do not try.
    /// </summary>
    /// <returns>The day's total after the call.</returns>
    public Task<long> MarkQuotaSpentAsync(string account, DateOnly day, long units, CancellationToken cancellationToken = default) =>
        store.RaiseAsync(account, QuotaKey(day), units, cancellationToken);

    /// <summary>Remembers that <paramref name="upload"/>'s content (by MD5) was published; replaces an earlier record of the same MD5.</summary>
    public Task RecordUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default)
    {
        var entry = new UploadHistoryEntry(upload.RemoteId, upload.Source, upload.Size, upload.Title, upload.UploadedAt.ToUnixTimeMilliseconds());
        return store.PutStateAsync(upload.Account, UploadKey(upload.Md5), JsonSerializer.Serialize(entry, YouTubeJson.Default.UploadHistoryEntry), cancellationToken);
    }

    /// <summary>The record of content with this MD5 (any case) published by <paramref name="account"/>, or null.</summary>
    public async Task<UploadRecord?> FindUploadAsync(string account, string md5, CancellationToken cancellationToken = default) =>
        await store.GetStateAsync(account, UploadKey(md5), cancellationToken).ConfigureAwait(false) is { } json
            ? Read(account, md5.ToLowerInvariant(), json) : null;

    /// <summary>Forgets the record of <paramref name="remoteId"/> (the video was deleted): the content may be published again.</summary>
    public async Task ForgetUploadAsync(string account, string remoteId, CancellationToken cancellationToken = default)
    {
        // Keyed by MD5: a channel's history is small (its uploads are capped per day), so it is searched.
        await foreach (var upload in ListUploadsAsync(account, cancellationToken).ConfigureAwait(false))
        {
            if (upload.RemoteId == remoteId)
                await store.DeleteStateAsync(account, UploadKey(upload.Md5), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What <paramref name="account"/> published, newest first (then by MD5).</summary>
    public async IAsyncEnumerable<UploadRecord> ListUploadsAsync(string account, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var all = new List<UploadRecord>();
        await foreach (var entry in store.ListStateAsync(account, UploadPrefix, cancellationToken).ConfigureAwait(false))
            all.Add(Read(account, entry.Key[UploadPrefix.Length..], entry.Value));
        foreach (var upload in all.OrderByDescending(u => u.UploadedAt).ThenBy(u => u.Md5, StringComparer.Ordinal))
            yield return upload;
    }

    private static string QuotaKey(DateOnly day) => QuotaPrefix + day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string UploadKey(string md5) => UploadPrefix + md5.ToLowerInvariant();

    private static UploadRecord Read(string account, string md5, string json)
    {
        UploadHistoryEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(json, YouTubeJson.Default.UploadHistoryEntry);
        }
        catch (JsonException)
        {
            entry = null;
        }
        if (entry is null)
            throw new LoadPipeException(ErrorKind.Permanent, $"the manifest's YouTube upload history of '{account}' holds a record of {md5} LoadPipe cannot read");
        return new UploadRecord(account, md5, entry.VideoId, entry.Source, entry.Size, entry.Title, DateTimeOffset.FromUnixTimeMilliseconds(entry.UploadedAt));
    }
}

/// <summary>One published content: which account, its MD5, the id the destination gave it, and where it came from.</summary>
internal sealed record UploadRecord(string Account, string Md5, string RemoteId, string Source, long Size, string? Title, DateTimeOffset UploadedAt);

/// <summary>The stored JSON of one published video: <c>{"videoId":"...","source":"...","size":1,"title":null,"uploadedAt":UNIX_MS}</c>.</summary>
internal sealed record UploadHistoryEntry(string VideoId, string Source, long Size, string? Title, long UploadedAt);
