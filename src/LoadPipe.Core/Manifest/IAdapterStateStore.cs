namespace LoadPipe.Core.Manifest;

/// <summary>
/// A durable place for an adapter's own state beside the transfers (YouTube keeps its quota and what it published
/// there), so that no store's concept lives in the core or in the manifests. Both manifests implement it; an adapter
/// finds it with <c>manifest as IAdapterStateStore</c>.
/// <para>State is text values under keys within a scope. A scope is an opaque name the adapter chooses (its type and
/// remote, e.g. <c>youtube:channel</c>), so that adapters and remotes never see each other's keys; a value is
/// usually the adapter's own JSON. A counter is a key whose value is a JSON integer, changed only by
/// <see cref="TryAddAsync"/> and <see cref="RaiseAsync"/>.</para>
/// <para>Every call is atomic, across processes and machines sharing the manifest, as on <see cref="IManifest"/>.</para>
/// </summary>
public interface IAdapterStateStore
{
    /// <summary>Sets <paramref name="key"/> in <paramref name="scope"/> to <paramref name="value"/>, replacing any value it had.</summary>
    Task PutStateAsync(string scope, string key, string value, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="PutStateAsync"/>, and the value survives a power loss once this returns, for a value a
    /// client is told about (the ingest API's file record, answered 201). Default: <see cref="PutStateAsync"/>, for a
    /// manifest whose every commit is durable (PostgreSQL); SQLite, whose commits survive kill -9 but may be lost at a
    /// power loss (WAL, synchronous=NORMAL), syncs its log for this one.</summary>
    Task PutStateDurablyAsync(string scope, string key, string value, CancellationToken cancellationToken = default) =>
        PutStateAsync(scope, key, value, cancellationToken);

    /// <summary>The value of <paramref name="key"/> in <paramref name="scope"/>, or null when there is none.</summary>
    Task<string?> GetStateAsync(string scope, string key, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="key"/> from <paramref name="scope"/>; false when it was not there.</summary>
    Task<bool> DeleteStateAsync(string scope, string key, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="DeleteStateAsync"/>, and the removal survives a power loss once this returns, for a removal
    /// a client is told about (the ingest API's DELETE, answered 204): the counterpart of
    /// <see cref="PutStateDurablyAsync"/>. Default: <see cref="DeleteStateAsync"/>, for a manifest whose every commit is
    /// durable (PostgreSQL); SQLite syncs its log for this one.</summary>
    Task<bool> DeleteStateDurablyAsync(string scope, string key, CancellationToken cancellationToken = default) =>
        DeleteStateAsync(scope, key, cancellationToken);

    /// <summary>The keys of <paramref name="scope"/> that start with <paramref name="keyPrefix"/> (all when empty), with
    /// their values, in ordinal order of the key.</summary>
    IAsyncEnumerable<AdapterStateEntry> ListStateAsync(string scope, string keyPrefix = "", CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds <paramref name="amount"/> (0 or more) to the counter <paramref name="key"/> (0 when absent) if the total
    /// stays within <paramref name="limit"/>, else changes nothing. Check and add are one step: two processes that add
    /// at once can never both pass the limit.
    /// </summary>
    /// <returns>Whether the amount was added, and the counter's total after the call.</returns>
    Task<CounterAdd> TryAddAsync(string scope, string key, long amount, long limit, CancellationToken cancellationToken = default);

    /// <summary>Raises the counter <paramref name="key"/> to at least <paramref name="minimum"/> (never lowers it).</summary>
    /// <returns>The counter's total after the call.</returns>
    Task<long> RaiseAsync(string scope, string key, long minimum, CancellationToken cancellationToken = default);
}

/// <summary>One key of a scope and its value.</summary>
public readonly record struct AdapterStateEntry(string Key, string Value);

/// <param name="Added">True when the amount was added.</param>
/// <param name="Total">The counter's total after the call (with the amount when it was added, without it when not).</param>
public readonly record struct CounterAdd(bool Added, long Total);
