using System.Runtime.CompilerServices;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Postgres;

/// <summary>The quota ledger and upload history (<see cref="IUploadLedger"/>): tables <c>quota_spent</c> and <c>upload_history</c>.</summary>
public sealed partial class PostgresManifest
{
    /// <summary>
    /// One upsert that adds only while the total stays within the budget: a fresh row must fit on its own (the
    /// SELECT's WHERE), an existing one is updated only when the sum fits (DO UPDATE's WHERE). ON CONFLICT DO UPDATE
    /// locks the row and re-checks the WHERE against its newest version, so concurrent spenders take turns and the
    /// budget holds across processes and machines. When nothing was spent, a second statement reads the total.
    /// </summary>
    public async Task<QuotaSpend> TrySpendQuotaAsync(string account, DateOnly day, long units, long budget, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        await using (var spend = Command("""
            INSERT INTO quota_spent(account, day, units, updated_at) SELECT @account, @day, @units, @now WHERE @units <= @budget
            ON CONFLICT (account, day) DO UPDATE SET units = quota_spent.units + excluded.units, updated_at = excluded.updated_at
                WHERE quota_spent.units + excluded.units <= @budget
            RETURNING units
            """, ("account", account), ("day", ManifestRows.Day(day)), ("units", units), ("budget", budget), ("now", Now())))
        {
            if (await spend.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long total)
                return new QuotaSpend(true, total);
        }
        return new QuotaSpend(false, await GetQuotaSpentAsync(account, day, cancellationToken).ConfigureAwait(false));
    }

    public async Task<long> GetQuotaSpentAsync(string account, DateOnly day, CancellationToken cancellationToken = default)
    {
        await using var read = Command("SELECT units FROM quota_spent WHERE account = @account AND day = @day", ("account", account), ("day", ManifestRows.Day(day)));
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long? ?? 0;
    }

    public Task MarkQuotaSpentAsync(string account, DateOnly day, long units, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            INSERT INTO quota_spent(account, day, units, updated_at) VALUES (@account, @day, @units, @now)
            ON CONFLICT (account, day) DO UPDATE SET units = GREATEST(quota_spent.units, excluded.units), updated_at = excluded.updated_at
            """, cancellationToken, ("account", account), ("day", ManifestRows.Day(day)), ("units", units), ("now", Now()));

    public Task RecordUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            INSERT INTO upload_history(account, md5, remote_id, source, size, title, uploaded_at)
            VALUES (@account, @md5, @remote, @source, @size, @title, @at)
            ON CONFLICT (account, md5) DO UPDATE SET remote_id = excluded.remote_id, source = excluded.source, size = excluded.size,
                title = excluded.title, uploaded_at = excluded.uploaded_at
            """, cancellationToken, ("account", upload.Account), ("md5", upload.Md5.ToLowerInvariant()), ("remote", upload.RemoteId),
            ("source", upload.Source), ("size", upload.Size), ("title", upload.Title), ("at", upload.UploadedAt.ToUnixTimeMilliseconds()));

    public async Task<UploadRecord?> FindUploadAsync(string account, string md5, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(UploadSelect + " WHERE account = @account AND md5 = @md5", ("account", account), ("md5", md5.ToLowerInvariant()));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? ManifestRows.ReadUpload(r) : null;
    }

    public Task ForgetUploadAsync(string account, string remoteId, CancellationToken cancellationToken = default) =>
        ExecAsync("DELETE FROM upload_history WHERE account = @account AND remote_id = @remote", cancellationToken, ("account", account), ("remote", remoteId));

    public async IAsyncEnumerable<UploadRecord> ListUploadsAsync(string account, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(UploadSelect + " WHERE account = @account ORDER BY uploaded_at DESC, md5", ("account", account));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return ManifestRows.ReadUpload(r);
    }

    private const string UploadSelect = "SELECT " + ManifestRows.UploadColumns + " FROM upload_history";
}
