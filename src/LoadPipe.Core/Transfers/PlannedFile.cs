using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Core.Transfers;

/// <summary>One file of a run: where from (and what the listing said of it), where to, what is known there, and what
/// the two stores offer.</summary>
internal sealed record PlannedFile(Location From, ObjectInfo? Info, Location To, DestinationHint Hint, TransferFeatures Features);

/// <summary>What the stores on either side of a transfer offer (<see cref="StorageFeatures.Of"/>), taken once for a
/// run (a retry: once per pair) and passed down: the engine asks these records, not the stores, while it copies.</summary>
internal sealed record TransferFeatures(StorageFeatures Source, StorageFeatures Destination)
{
    public static TransferFeatures Of(Location source, Location destination) =>
        new(StorageFeatures.Of(source.Storage), StorageFeatures.Of(destination.Storage));
}

/// <summary>What the planner knows of a destination. <see cref="Listed"/>: a complete listing was consulted, so a
/// null <see cref="Info"/> means "not there"; otherwise nothing is known and the transfer asks the store.
/// <see cref="Completed"/>: the manifest recorded this transfer as completed from a source with the same identity, and
/// is trusted on it (the destination is not asked). <see cref="NotDone"/>: the planner looked the transfer up in the
/// manifest and found no completed record of this source, so the transfer need not look again before it takes the lock
/// (it looks once more under the lock, which is what decides). <see cref="NothingToResume"/>: the planner found no record
/// of the transfer, or one that holds nothing a resume could use (pending, or completed from another source), so a small
/// file may take the group commit (<see cref="GroupCommit"/>).</summary>
internal readonly record struct DestinationHint(bool Listed, ObjectInfo? Info, Manifest.TransferRecord? Completed = null, bool NotDone = false,
    bool NothingToResume = false)
{
    public static DestinationHint Unknown => new(false, null);

    public static DestinationHint Done(Manifest.TransferRecord record) => new(false, null, record);
}

/// <summary>
/// Walks the destination's recursive listing alongside the source's, both in <see cref="PathOrder"/>: each lookup
/// moves forward only, so the whole merge is one pass over each listing with nothing held but the current entry.
/// A destination folder that does not exist is an empty listing; a listing that fails part-way falls back to
/// asking per file.
/// </summary>
internal sealed class DestinationListing : IAsyncDisposable
{
    private readonly IAsyncEnumerator<ObjectInfo>? _entries;
    private readonly ILogger _logger;
    private bool _started;
    private bool _more;
    private bool _failed;

    public DestinationListing(Location destination, TransferFeatures features, ILogger logger, CancellationToken cancellationToken)
    {
        _logger = logger;
        if (features.Source.SortedListing && features.Destination.SortedListing)
            _entries = destination.Storage.ListAsync(destination.Path, recursive: true, cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    public async ValueTask<DestinationHint> FindAsync(string relativePath)
    {
        if (_entries is null || _failed) return DestinationHint.Unknown;
        try
        {
            if (!_started)
            {
                _started = true;
                _more = await MoveAsync().ConfigureAwait(false);
            }
            while (_more && (_entries.Current.IsDirectory || PathOrder.Instance.Compare(_entries.Current.Path, relativePath) < 0))
                _more = await MoveAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failed = true;
            _logger.ListingFailed(e.Message);
            return DestinationHint.Unknown;
        }
        return _more && _entries.Current.Path == relativePath ? new DestinationHint(true, _entries.Current) : new DestinationHint(true, null);
    }

    private async ValueTask<bool> MoveAsync()
    {
        try
        {
            return await _entries!.MoveNextAsync().ConfigureAwait(false);
        }
        catch (LoadPipeException e) when (e.Kind == ErrorKind.NotFound)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => _entries?.DisposeAsync() ?? ValueTask.CompletedTask;
}
