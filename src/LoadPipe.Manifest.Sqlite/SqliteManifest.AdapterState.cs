using System.Globalization;
using System.Runtime.CompilerServices;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Sqlite;

/// <summary>Adapters' own state (<see cref="IAdapterStateStore"/>): table <c>adapter_state</c>, one row per scope and key.</summary>
public sealed partial class SqliteManifest
{
    public Task PutStateAsync(string scope, string key, string value, CancellationToken cancellationToken = default) =>
        ExecAsync(StateUpsert, cancellationToken, ("$scope", scope), ("$key", key), ("$value", value), ("$now", Now()));

    /// <summary>The same upsert in one transaction committed with synchronous=FULL (see <see cref="DurablyAsync"/>).</summary>
    public Task PutStateDurablyAsync(string scope, string key, string value, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) => await c.Command(StateUpsert, tx, ("$scope", scope), ("$key", key), ("$value", value), ("$now", Now()))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false), cancellationToken);

    private const string StateUpsert = """
        INSERT INTO adapter_state(scope, key, value, updated_at) VALUES ($scope, $key, $value, $now)
        ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """;

    public async Task<string?> GetStateAsync(string scope, string key, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await c.Command(StateSelect, null, ("$scope", scope), ("$key", key)).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<bool> DeleteStateAsync(string scope, string key, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var delete = c.Command(StateDelete, null, ("$scope", scope), ("$key", key));
        return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>The same delete in one transaction committed with synchronous=FULL (see <see cref="DurablyAsync"/>).</summary>
    public Task<bool> DeleteStateDurablyAsync(string scope, string key, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) => await c.Command(StateDelete, tx, ("$scope", scope), ("$key", key))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0, cancellationToken);

    private const string StateDelete = "DELETE FROM adapter_state WHERE scope = $scope AND key = $key";

    /// <summary>The prefix is compared with substr, not LIKE, so that '%' and '_' in it are plain characters.</summary>
    public async IAsyncEnumerable<AdapterStateEntry> ListStateAsync(string scope, string keyPrefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command("""
            SELECT key, value FROM adapter_state WHERE scope = $scope AND substr(key, 1, length($prefix)) = $prefix ORDER BY key
            """, null, ("$scope", scope), ("$prefix", keyPrefix)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return new AdapterStateEntry(r.GetString(0), r.GetString(1));
    }

    /// <summary>
    /// One upsert that adds only while the total stays within the limit: a fresh row must fit on its own (the
    /// SELECT's WHERE), an existing one is updated only when the sum fits (DO UPDATE's WHERE). SQLite runs one
    /// writer at a time, and the immediate transaction holds the write lock from the start, so the check and the add
    /// cannot interleave with another process's.
    /// </summary>
    public async Task<CounterAdd> TryAddAsync(string scope, string key, long amount, long limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: false);
        var add = c.Command("""
            INSERT INTO adapter_state(scope, key, value, updated_at) SELECT $scope, $key, $amount, $now WHERE $amount <= $limit
            ON CONFLICT(scope, key) DO UPDATE SET value = CAST(adapter_state.value AS INTEGER) + CAST(excluded.value AS INTEGER), updated_at = excluded.updated_at
                WHERE CAST(adapter_state.value AS INTEGER) + CAST(excluded.value AS INTEGER) <= $limit
            RETURNING value
            """, tx, ("$scope", scope), ("$key", key), ("$amount", amount), ("$limit", limit), ("$now", Now()));
        if (await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is { } total and not DBNull)
        {
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new CounterAdd(true, Counter(total));
        }
        var current = await c.Command(StateSelect, tx, ("$scope", scope), ("$key", key)).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new CounterAdd(false, Counter(current));
    }

    public async Task<long> RaiseAsync(string scope, string key, long minimum, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var raise = c.Command("""
            INSERT INTO adapter_state(scope, key, value, updated_at) VALUES ($scope, $key, $minimum, $now)
            ON CONFLICT(scope, key) DO UPDATE SET value = MAX(CAST(adapter_state.value AS INTEGER), CAST(excluded.value AS INTEGER)), updated_at = excluded.updated_at
            RETURNING value
            """, null, ("$scope", scope), ("$key", key), ("$minimum", minimum), ("$now", Now()));
        return Counter(await raise.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
    }

    private const string StateSelect = "SELECT value FROM adapter_state WHERE scope = $scope AND key = $key";

    /// <summary>A counter's value as stored (text, by the column's affinity); 0 when absent.</summary>
    private static long Counter(object? value) => value switch
    {
        null or DBNull => 0,
        long l => l,
        _ => long.Parse(Convert.ToString(value, CultureInfo.InvariantCulture)!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
    };
}
