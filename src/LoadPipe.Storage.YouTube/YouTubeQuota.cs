using System.Collections.Concurrent;
using System.Globalization;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// The daily budget of one remote, kept in the manifest's adapter state (<see cref="YouTubeLedger"/>) per Pacific day. An
/// upload is paid for before it starts, check and add in one step, so processes sharing a manifest never pass the
/// budget together. Running out is an <see cref="ErrorKind.Quota"/> error: the engine then starts no new uploads.
/// </summary>
internal sealed class YouTubeQuota(YouTubeOptions options, YouTubeLedger ledger, TimeProvider time)
{
    // Uploads paid for whose videos.insert did not answer yet: a retry of the same start spends nothing more.
    private readonly ConcurrentDictionary<string, DateOnly> _paid = new(StringComparer.Ordinal);

    private long Cost => options.QuotaMode == YouTubeQuotaMode.Units ? options.QuotaPerUpload : 1;

    private long Budget => options.QuotaMode == YouTubeQuotaMode.Units ? options.DailyQuota : options.DailyUploads;

    /// <summary>Spends one upload's cost for today, or throws the quota error. <paramref name="upload"/> names the
    /// upload, so that a retried start of it is not paid twice.</summary>
    public async Task PayAsync(string upload, CancellationToken cancellationToken)
    {
        var day = PacificCalendar.DayOf(time.GetUtcNow());
        if (_paid.TryGetValue(upload, out var paidDay) && paidDay == day) return;
        await SpendAsync(day, Cost, cancellationToken).ConfigureAwait(false);
        _paid[upload] = day;
    }

    /// <summary>A videos.list call (the duplicate check) costs one unit: spent before it, counted in units mode only (the
    /// uploads mode counts uploads).</summary>
    public async Task PayForListAsync(CancellationToken cancellationToken)
    {
        if (options.QuotaMode != YouTubeQuotaMode.Units) return;
        await SpendAsync(PacificCalendar.DayOf(time.GetUtcNow()), ListCost, cancellationToken).ConfigureAwait(false);
    }

    private const long ListCost = 1;

    /// <summary>Adds <paramref name="cost"/> to the day's spending in the ledger, or throws the quota error when it would pass the budget.</summary>
    private async Task SpendAsync(DateOnly day, long cost, CancellationToken cancellationToken)
    {
        var spend = await ledger.TrySpendQuotaAsync(options.QuotaAccount, day, cost, Budget, cancellationToken).ConfigureAwait(false);
        if (!spend.Added) throw Reached(day, spend.Total, null);
    }

    /// <summary>The upload started: its payment is used.</summary>
    public void Started(string upload) => _paid.TryRemove(upload, out _);

    /// <summary>Google said the quota is gone (403 quotaExceeded / uploadLimitExceeded): the ledger is marked full for
    /// today, so that later runs do not try before the reset, and the error to throw is returned.</summary>
    public async Task<LoadPipeException> ServerRefusedAsync(string reason, CancellationToken cancellationToken)
    {
        var day = PacificCalendar.DayOf(time.GetUtcNow());
        var spent = await ledger.MarkQuotaSpentAsync(options.QuotaAccount, day, Budget, CancellationToken.None).ConfigureAwait(false);
        return Reached(day, spent, reason);
    }

    private LoadPipeException Reached(DateOnly day, long spent, string? serverReason)
    {
        var reset = PacificCalendar.ResetAfter(day);
        var when = string.Create(CultureInfo.InvariantCulture, $"next reset at {reset:yyyy-MM-dd HH:mm} Pacific ({reset.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})");
        var what = options.QuotaMode == YouTubeQuotaMode.Units
            ? string.Create(CultureInfo.InvariantCulture, $"daily YouTube quota reached: {spent} of {Budget} units spent for {day:yyyy-MM-dd} (Pacific)")
            : string.Create(CultureInfo.InvariantCulture, $"daily YouTube upload limit reached: {spent} of {Budget} uploads for {day:yyyy-MM-dd} (Pacific)");
        var why = serverReason is not null ? $", Google refused the upload ({serverReason})"
            : options.QuotaMode == YouTubeQuotaMode.Units ? string.Create(CultureInfo.InvariantCulture, $", an upload needs {Cost}") : "";
        return new LoadPipeException(ErrorKind.Quota, $"remote '{options.Name}': {what}{why}; {when}");
    }
}
