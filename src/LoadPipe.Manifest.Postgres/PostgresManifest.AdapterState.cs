using System.Globalization;
using System.Runtime.CompilerServices;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Postgres;

/// <summary>Adapters' own state (<see cref="IAdapterStateStore"/>): table <c>adapter_state</c>, one row per scope and key.</summary>
public sealed partial class PostgresManifest
{
    public Task PutStateAsync(string scope, string key, string value, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            INSERT INTO adapter_state(scope, key, value, updated_at) VALUES (@scope, @key, @value, @now)
            ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, cancellationToken, ("scope", scope), ("key", key), ("value", value), ("now", Now()));

    public async Task<string?> GetStateAsync(string scope, string key, CancellationToken cancellationToken = default)
    {
        await using var read = Command(StateSelect, ("scope", scope), ("key", key));
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<bool> DeleteStateAsync(string scope, string key, CancellationToken cancellationToken = default)
    {
        await using var delete = Command("DELETE FROM adapter_state WHERE scope = @scope AND key = @key", ("scope", scope), ("key", key));
        return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>starts_with, not LIKE, so that '%' and '_' in the prefix are plain characters; keys sorted by code point (COLLATE "C").</summary>
    public async IAsyncEnumerable<AdapterStateEntry> ListStateAsync(string scope, string keyPrefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("""
            SELECT key, value FROM adapter_state WHERE scope = @scope AND starts_with(key, @prefix) ORDER BY key COLLATE "C"
            """, ("scope", scope), ("prefix", keyPrefix));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return new AdapterStateEntry(r.GetString(0), r.GetString(1));
    }

    /// <summary>
    /// One upsert that adds only while the total stays within the limit: a fresh row must fit on its own (the
    /// SELECT's WHERE), an existing one is updated only when the sum fits (DO UPDATE's WHERE). ON CONFLICT DO UPDATE
    /// locks the row and re-checks the WHERE against its newest version, so concurrent adders take turns and the
    /// limit holds across processes and machines. When nothing was added, a second statement reads the total.
    /// </summary>
    public async Task<CounterAdd> TryAddAsync(string scope, string key, long amount, long limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        await using (var add = Command("""
            INSERT INTO adapter_state(scope, key, value, updated_at) SELECT @scope, @key, @amount::text, @now WHERE @amount <= @limit
            ON CONFLICT (scope, key) DO UPDATE SET value = (adapter_state.value::bigint + excluded.value::bigint)::text, updated_at = excluded.updated_at
                WHERE adapter_state.value::bigint + excluded.value::bigint <= @limit
            RETURNING value
            """, ("scope", scope), ("key", key), ("amount", amount), ("limit", limit), ("now", Now())))
        {
            if (await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string total)
                return new CounterAdd(true, Counter(total));
        }
        return new CounterAdd(false, Counter(await GetStateAsync(scope, key, cancellationToken).ConfigureAwait(false)));
    }

    public async Task<long> RaiseAsync(string scope, string key, long minimum, CancellationToken cancellationToken = default)
    {
        await using var raise = Command("""
            INSERT INTO adapter_state(scope, key, value, updated_at) VALUES (@scope, @key, @minimum::text, @now)
            ON CONFLICT (scope, key) DO UPDATE SET value = GREATEST(adapter_state.value::bigint, excluded.value::bigint)::text, updated_at = excluded.updated_at
            RETURNING value
            """, ("scope", scope), ("key", key), ("minimum", minimum), ("now", Now()));
        return Counter(await raise.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string);
    }

    private const string StateSelect = "SELECT value FROM adapter_state WHERE scope = @scope AND key = @key";

    private static long Counter(string? value) => value is null ? 0 : long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
