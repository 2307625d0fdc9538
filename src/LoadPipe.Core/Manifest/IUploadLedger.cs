namespace LoadPipe.Core.Manifest;

/// <summary>
/// What a publishing sink (YouTube) keeps beside the transfers: the quota it spent per account and day, and the
/// history of what it published, by content hash, so the same content is not published twice. Both manifests
/// implement it; a sink finds it with <c>manifest as IUploadLedger</c>. Every call is atomic, as on
/// <see cref="IManifest"/>. <c>account</c> arguments are opaque names the sink chooses (a remote and
/// its quota bucket); days are the sink's own calendar (YouTube's is Pacific time).
/// </summary>
public interface IUploadLedger
{
    /// <summary>
    /// Adds <paramref name="units"/> to what <paramref name="account"/> spent on <paramref name="day"/> if the total
    /// stays within <paramref name="budget"/>, else changes nothing. Check and add are one step: two processes that
    /// spend at once can never both pass the budget.
    /// </summary>
    /// <returns>Whether the units were spent, and the day's total after the call.</returns>
    Task<QuotaSpend> TrySpendQuotaAsync(string account, DateOnly day, long units, long budget, CancellationToken cancellationToken = default);

    /// <summary>Units <paramref name="account"/> spent on <paramref name="day"/>; 0 when nothing was recorded.</summary>
    Task<long> GetQuotaSpentAsync(string account, DateOnly day, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raises the day's total to at least <paramref name="units"/> (never lowers it): for when the server says the
    /// quota is gone while the ledger thought otherwise (another tool spent it), so later runs that day do not try.
    /// </summary>
    Task MarkQuotaSpentAsync(string account, DateOnly day, long units, CancellationToken cancellationToken = default);

    /// <summary>Remembers that <paramref name="upload"/>'s content (by MD5) was published; replaces an earlier record of the same MD5.</summary>
    Task RecordUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default);

    /// <summary>The record of content with this MD5 (lowercase hex) published by <paramref name="account"/>, or null.</summary>
    Task<UploadRecord?> FindUploadAsync(string account, string md5, CancellationToken cancellationToken = default);

    /// <summary>Forgets the record of <paramref name="remoteId"/> (the video was deleted): the content may be published again.</summary>
    Task ForgetUploadAsync(string account, string remoteId, CancellationToken cancellationToken = default);

    /// <summary>What <paramref name="account"/> published, newest first.</summary>
    IAsyncEnumerable<UploadRecord> ListUploadsAsync(string account, CancellationToken cancellationToken = default);
}

/// <param name="Spent">True when the units were added.</param>
/// <param name="Total">The day's total after the call (with the units when they were spent, without them when not).</param>
public readonly record struct QuotaSpend(bool Spent, long Total);

/// <summary>One published content: which account, its MD5, the id the destination gave it, and where it came from.</summary>
public sealed record UploadRecord(string Account, string Md5, string RemoteId, string Source, long Size, string? Title, DateTimeOffset UploadedAt);
