using System.Text.RegularExpressions;
using LoadPipe.Core.Storage;
using LoadPipe.Server.Ingest.StorageElements;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// Removes what a crashed upload left at the storage elements: the unrecorded partial file of an upload killed before
/// its creation was recorded (a provisional creation is not synced on its own), and the unrecorded object (and
/// sidecar) of an upload killed between its object's commit and its file record. Run by the session sweeper, at its
/// interval (`upload_session_cleanup_interval`). Only the ingest API's own names are looked at (the seed's pattern,
/// `{name}_{owner}_{UTC time}_{uuid}{.ext}`, and its `.attr.json`), at the top of each `edit` or `rw` element, so
/// that a tus upload or anything else in the folder is never touched; such a name is removed only when no file record
/// names it there, no unfinished transfer involves its file, and it is older than <see cref="SafeAge"/>: no upload
/// can still be writing it, adopting it, or recording it.
/// </summary>
internal sealed partial class LeftoverSweeper(IngestService ingest)
{
    /// <summary>The longest any upload may still come back to its bytes after it last wrote them: an open upload lives
    /// until its expiry (the tus expiration, renewed by each append; an upload session's TTL), and a saga runs at most
    /// its timeout after the commit. Older than all of them, nothing but a crash leaves a name no record holds.</summary>
    public TimeSpan SafeAge => new[] { ingest.UploadExpiration, ingest.Settings.UploadSessionTtl, 2 * ingest.Settings.SagaTimeout }.Max();

    /// <summary>Sweeps every writable element once; returns how many objects and partial files it removed. An element
    /// that fails is logged and skipped until the next sweep.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        IReadOnlySet<string> busy = ingest.Transfers is { } transfers
            ? await transfers.UnfinishedFileIdsAsync(cancellationToken).ConfigureAwait(false)
            : new HashSet<string>();
        var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
        var oldest = ingest.Time.GetUtcNow() - SafeAge;
        var removed = 0;
        foreach (var element in ingest.Elements.All.Where(e => e.Writable))
        {
            try
            {
                removed += await SweepAsync(element, records, busy, oldest, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LeftoverSweepFailed(ingest.Logger, element.Id, e.Message);
            }
        }
        return removed;
    }

    private async Task<int> SweepAsync(StorageElement element, FileRecordStore records, IReadOnlySet<string> busy, DateTimeOffset oldest,
        CancellationToken cancellationToken)
    {
        var storage = element.Location.Storage;
        var claims = new Dictionary<string, FileRecord?>(StringComparer.Ordinal);
        async Task<bool> LeftAsync(ObjectInfo info)
        {
            if (info.Path.Contains('/', StringComparison.Ordinal) || info.Modified is not { } modified || modified > oldest) return false;
            var name = info.Path.EndsWith(Sidecars.Suffix, StringComparison.Ordinal) ? info.Path[..^Sidecars.Suffix.Length] : info.Path;
            if (StoredName().Match(name) is not { Success: true } match) return false;
            var fileId = match.Groups["id"].Value;
            if (busy.Contains(fileId)) return false;
            if (!claims.TryGetValue(fileId, out var record))
                claims[fileId] = record = await records.GetAsync(fileId, cancellationToken).ConfigureAwait(false);
            return record is null || record.StorageElementId != element.Id || record.StorageFilename != name;
        }

        var removed = 0;
        if (storage is IObjectRemover remover)
        {
            var left = new List<string>();
            try
            {
                await foreach (var info in storage.ListAsync(element.Location.Path, recursive: false, cancellationToken).ConfigureAwait(false))
                    if (!info.IsDirectory && await LeftAsync(info).ConfigureAwait(false)) left.Add(info.Path);
            }
            catch (Core.Errors.LoadPipeException e) when (e.Kind == Core.Errors.ErrorKind.NotFound)
            {
                // The element's folder is not made yet: nothing was ever stored there.
            }
            foreach (var name in left)
            {
                if (!await remover.RemoveAsync(element.Location.Child(name).Path, cancellationToken).ConfigureAwait(false)) continue;
                Log.LeftoverRemoved(ingest.Logger, element.Id, name, "object");
                removed++;
            }
        }
        if (storage is IPartialWrites partials)
        {
            var left = new List<string>();
            await foreach (var info in partials.ListPartialsAsync(element.Location.Path, cancellationToken).ConfigureAwait(false))
                if (await LeftAsync(info).ConfigureAwait(false)) left.Add(info.Path);
            foreach (var name in left)
            {
                if (!await partials.RemovePartialAsync(element.Location.Child(name).Path, cancellationToken).ConfigureAwait(false)) continue;
                Log.LeftoverRemoved(ingest.Logger, element.Id, name, "partial file");
                removed++;
            }
        }
        return removed;
    }

    /// <summary><see cref="Validation.FileNames.StorageFilename"/>'s pattern, with the compression's suffix when there is one.</summary>
    [GeneratedRegex(@"^[^/]+_\d{8}T\d{6}_(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.[^_/]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex StoredName();
}
