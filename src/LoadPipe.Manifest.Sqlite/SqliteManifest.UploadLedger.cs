using System.Runtime.CompilerServices;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Sqlite;

/// <summary>The quota ledger and upload history (<see cref="IUploadLedger"/>): tables <c>quota_spent</c> and <c>upload_history</c>.</summary>
public sealed partial class SqliteManifest
{
    /// <summary>
    /// One upsert that adds only while the total stays within the budget: a fresh row must fit on its own (the
    /// SELECT's WHERE), an existing one is updated only when the sum fits (DO UPDATE's WHERE). SQLite runs one
    /// writer at a time, so the check and the add cannot interleave with another process's.
    /// </summary>
    public async Task<QuotaSpend> TrySpendQuotaAsync(string account, DateOnly day, long units, long budget, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var spend = c.Command("""
            INSERT INTO quota_spent(account, day, units, updated_at) SELECT $account, $day, $units, $now WHERE $units <= $budget
            ON CONFLICT(account, day) DO UPDATE SET units = quota_spent.units + excluded.units, updated_at = excluded.updated_at
                WHERE quota_spent.units + excluded.units <= $budget
            RETURNING units
            """, tx, ("$account", account), ("$day", ManifestRows.Day(day)), ("$units", units), ("$budget", budget), ("$now", Now()));
        if (await spend.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long total)
        {
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new QuotaSpend(true, total);
        }
        var read = c.Command("SELECT units FROM quota_spent WHERE account = $account AND day = $day", tx, ("$account", account), ("$day", ManifestRows.Day(day)));
        var current = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long? ?? 0;
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new QuotaSpend(false, current);
    }

    public async Task<long> GetQuotaSpentAsync(string account, DateOnly day, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var read = c.Command("SELECT units FROM quota_spent WHERE account = $account AND day = $day", null, ("$account", account), ("$day", ManifestRows.Day(day)));
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long? ?? 0;
    }

    public Task MarkQuotaSpentAsync(string account, DateOnly day, long units, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            INSERT INTO quota_spent(account, day, units, updated_at) VALUES ($account, $day, $units, $now)
            ON CONFLICT(account, day) DO UPDATE SET units = MAX(quota_spent.units, excluded.units), updated_at = excluded.updated_at
            """, cancellationToken, ("$account", account), ("$day", ManifestRows.Day(day)), ("$units", units), ("$now", Now()));

    public Task RecordUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            INSERT OR REPLACE INTO upload_history(account, md5, remote_id, source, size, title, uploaded_at)
            VALUES ($account, $md5, $remote, $source, $size, $title, $at)
            """, cancellationToken, ("$account", upload.Account), ("$md5", upload.Md5.ToLowerInvariant()), ("$remote", upload.RemoteId),
            ("$source", upload.Source), ("$size", upload.Size), ("$title", upload.Title), ("$at", upload.UploadedAt.ToUnixTimeMilliseconds()));

    public async Task<UploadRecord?> FindUploadAsync(string account, string md5, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(UploadSelect + " WHERE account = $account AND md5 = $md5", null, ("$account", account), ("$md5", md5.ToLowerInvariant()))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? ManifestRows.ReadUpload(r) : null;
    }

    public Task ForgetUploadAsync(string account, string remoteId, CancellationToken cancellationToken = default) =>
        ExecAsync("DELETE FROM upload_history WHERE account = $account AND remote_id = $remote", cancellationToken, ("$account", account), ("$remote", remoteId));

    public async IAsyncEnumerable<UploadRecord> ListUploadsAsync(string account, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(UploadSelect + " WHERE account = $account ORDER BY uploaded_at DESC, md5", null, ("$account", account))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return ManifestRows.ReadUpload(r);
    }

    private const string UploadSelect = "SELECT " + ManifestRows.UploadColumns + " FROM upload_history";
}
