using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Transfers;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Ingest.Validation;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Server.Ingest.Transfers;

/// <summary>The error codes of transfers, each named once.</summary>
public static class TransferErrors
{
    public const string StorageElementNotFound = "storage_element_not_found";
    public const string StorageElementReadonly = "storage_element_readonly";
    public const string TransferNotFound = "transfer_not_found";
    public const string TransferInProgress = "transfer_in_progress";
}

/// <summary>
/// `POST /api/files/{id}/transfer` and `GET /api/files/transfer/{id}` (docs/ingest.md, "Transfers"): a file moved or
/// copied from its storage element to another, in the background, as the transfer saga. Copy: the host's transfer
/// engine (chunked, resumable, server-side where the stores allow). Verify: the copy's SHA-256, read back at the
/// destination. Then the sidecar at the destination, the record, and only then the source's sidecar and object (a
/// move). A step that keeps failing undoes the ones before it: the source stays as it was and nothing stays at the
/// destination. Each transfer's state is kept in the manifest (keyed state, scope <see cref="Scope"/>): queued,
/// in_progress, verifying, completed or failed.
/// <para>A running transfer holds a lease (scope <see cref="LeaseScope"/>), renewed while it runs. A server that stops
/// stops its transfers where they stand (they stay in_progress or verifying, their lease let go); a server that dies
/// leaves its leases to expire. <see cref="TransferRecovery"/> takes over every unfinished transfer whose lease is gone,
/// at start and then once a lease duration: it resumes it (the saga runs again; each step can run twice), finishes it
/// when only its last steps were left, or marks it failed (`transfer_interrupted`, retryable by starting it again) when
/// its file or an element is gone.</para>
/// </summary>
public sealed class FileTransfers(LoadPipeHost host, IngestService ingest)
{
    public const string Scope = "ingest:transfers";
    public const string LeaseScope = "ingest:transfer-leases";

    /// <summary>Takeover claims (manifest counters): one key per transfer and lease taken over, added to once.</summary>
    public const string ClaimScope = "ingest:transfer-claims";
    public const string Interrupted = "transfer_interrupted";

    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>How long a running transfer's lease lasts without renewal (renewed every third of it).</summary>
    internal TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The transfers running in this process, by file id (one at a time per file).</summary>
    internal IReadOnlyCollection<Task> Running => [.. _running.Values];

    public async Task StartAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var fileId = (string)context.Request.RouteValues["id"]!;
        var request = await ReadRequestAsync(context.Request, cancellationToken).ConfigureAwait(false);
        var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
        var file = (Guid.TryParseExact(fileId, "D", out _) ? await records.GetAsync(fileId, cancellationToken).ConfigureAwait(false) : null)
            ?? throw new IngestException(404, IngestErrors.FileNotFound, $"no file {(fileId.Length > 64 ? fileId[..64] + "..." : fileId)}");
        var destinationId = request.DestinationStorageElementId!;
        var destination = ingest.Elements.Find(destinationId)
            ?? throw new IngestException(404, TransferErrors.StorageElementNotFound, $"no storage element {destinationId}");
        if (!destination.Writable)
            throw new IngestException(400, TransferErrors.StorageElementReadonly,
                $"the storage element {destination.Id} is in {destination.Config.Mode} mode: a transfer's destination must be in edit or rw mode");
        if (destination.Id == file.StorageElementId)
            throw new IngestException(400, IngestErrors.InvalidRequest, $"the file is already on {destination.Id}");
        var source = ingest.Elements.Find(file.StorageElementId)
            ?? throw new IngestException(503, IngestErrors.NoStorageAvailable, $"the storage element {file.StorageElementId} of this file is not known now");
        if (request.DeleteSource && !source.Editable)
            throw new IngestException(400, IngestErrors.FileInReadonlyStorage,
                $"a move deletes the source, and {source.Id} is in {source.Config.Mode} mode (only edit allows it): transfer with delete_source false to copy");

        var now = ingest.Time.GetUtcNow();
        var transfer = new TransferBody
        {
            TransferId = Guid.NewGuid().ToString("D"), Status = "queued", FileId = file.FileId,
            SourceStorageElementId = source.Id, DestinationStorageElementId = destination.Id,
            DeleteSource = request.DeleteSource, VerifyChecksum = request.VerifyChecksum, BytesTotal = file.SizeBytes, QueuedAt = now,
        };
        var started = TryRegister(transfer, file, source, destination)
            ?? throw new IngestException(409, TransferErrors.TransferInProgress, $"file {file.FileId} is being transferred now");
        try
        {
            await PutAsync(transfer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            started.SetCanceled(CancellationToken.None);
            throw;
        }
        started.SetResult();
        await ingest.Audit.WriteAsync(context, "transfer", "accepted", file.FileId, destination.Id).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.Headers.Location = $"/api/files/transfer/{transfer.TransferId}";
        await context.Response.WriteAsJsonAsync(transfer, TransferJson.Default.TransferBody, cancellationToken: CancellationToken.None).ConfigureAwait(false);
    }

    public async Task StatusAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        var transfer = (Guid.TryParseExact(id, "D", out _) ? await GetAsync(id, context.RequestAborted).ConfigureAwait(false) : null)
            ?? throw new IngestException(404, TransferErrors.TransferNotFound, "no such transfer");
        await context.Response.WriteAsJsonAsync(transfer, TransferJson.Default.TransferBody, cancellationToken: context.RequestAborted).ConfigureAwait(false);
    }

    public async Task<TransferBody?> GetAsync(string transferId, CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
        return await state.GetStateAsync(Scope, transferId, cancellationToken).ConfigureAwait(false) is { } json
            ? JsonSerializer.Deserialize(json, TransferJson.Default.TransferBody)
            : null;
    }

    private int _takenOver;

    /// <summary>How many interrupted transfers this server took over (for tests: two servers racing take each once).</summary>
    internal int TakenOver => Volatile.Read(ref _takenOver);

    /// <summary>The files the unfinished transfers (queued, in_progress, verifying) involve, copies' new files included:
    /// their objects may stand at an element before any record names them there.</summary>
    public async Task<IReadOnlySet<string>> UnfinishedFileIdsAsync(CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var entry in state.ListStateAsync(Scope, "", cancellationToken).ConfigureAwait(false))
        {
            if (JsonSerializer.Deserialize(entry.Value, TransferJson.Default.TransferBody) is not { Status: "queued" or "in_progress" or "verifying" } t) continue;
            ids.Add(t.FileId);
            if (t.DestinationFileId is { } copy) ids.Add(copy);
        }
        return ids;
    }

    private async Task PutAsync(TransferBody transfer, CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
        await state.PutStateAsync(Scope, transfer.TransferId, JsonSerializer.Serialize(transfer, TransferJson.Default.TransferBody), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The transfer saga, in the background; its outcome is the transfer's state. A server stop interrupts it
    /// where it stands, leaving its state for <see cref="TransferRecovery"/>.</summary>
    private async Task RunAsync(TransferBody transfer, FileRecord file, StorageElement source, StorageElement destination)
    {
        var ct = _stopping.Token;
        var began = ingest.Time.GetTimestamp();
        using var span = IngestTelemetry.Start(IngestTelemetry.Transfer);
        span?.SetTag(IngestTelemetry.FileIdTag, file.FileId);
        span?.SetTag(IngestTelemetry.StorageElementTag, destination.Id);
        using var renewal = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renewing = RenewLeaseAsync(transfer.TransferId, renewal.Token);
        var interrupted = false;
        try
        {
            // A move keeps the file's id and object name; a copy is a new file at the destination, with its own id and
            // name, chosen once and kept with the transfer, so that a resumed copy makes the same file.
            var copyId = transfer.DestinationFileId is { } planned ? Guid.Parse(planned) : Guid.NewGuid();
            transfer = transfer with
            {
                Status = "in_progress", StartedAt = transfer.StartedAt ?? ingest.Time.GetUtcNow(),
                DestinationFileId = transfer.DeleteSource ? null : copyId.ToString("D"),
            };
            await PutAsync(transfer, ct).ConfigureAwait(false);
            var records = await ingest.RecordsAsync(ct).ConfigureAwait(false);
            var moved = AtDestination(file, transfer.DeleteSource, destination, copyId);
            var from = source.Location.Child(file.StorageFilename);
            var to = destination.Location.Child(moved.StorageFilename);
            var sourceSidecar = new Sidecars(source);
            var destinationSidecar = new Sidecars(destination);
            long copied = 0;
            List<Sagas.SagaStep> steps =
            [
                new("copy", async c =>
                {
                    var summary = await destination.RunAsync(async cc => await CopyAsync(from, to, cc).ConfigureAwait(false), c).ConfigureAwait(false);
                    copied = summary.Bytes;
                }, c => RemoveAsync(destination, to, c)),
                new("verify", async c =>
                {
                    transfer = transfer with { Status = "verifying", BytesTransferred = copied };
                    await PutAsync(transfer, c).ConfigureAwait(false);
                    await VerifyAsync(file, source, from, destination, to, transfer.VerifyChecksum, c).ConfigureAwait(false);
                }),
                new("attr.json", c => destinationSidecar.WriteAsync(moved, c), c => destinationSidecar.RemoveAsync(moved, c)),
                new("record", c => records.PutAsync(moved, c), async c =>
                {
                    if (transfer.DeleteSource) await records.PutAsync(file, c).ConfigureAwait(false);
                    else await records.DeleteAsync(moved.FileId, c).ConfigureAwait(false);
                }),
            ];
            if (transfer.DeleteSource)
            {
                steps.Add(new("source attr.json", c => sourceSidecar.RemoveAsync(file, c), c => sourceSidecar.WriteAsync(file, c)));
                // The one step that cannot be undone comes last.
                steps.Add(new("source file", c => RemoveAsync(source, from, c)));
            }
            await ingest.Sagas.RunAsync("transfer", file.FileId, steps, ["validate"], ct).ConfigureAwait(false);
            if (transfer.DeleteSource) source.AddUsed(-file.SizeBytes);
            destination.AddUsed(file.SizeBytes);
            var elapsed = ingest.Time.GetElapsedTime(began);
            transfer = transfer with
            {
                Status = "completed", BytesTransferred = copied, CompletedAt = ingest.Time.GetUtcNow(),
                DestinationFileId = transfer.DeleteSource ? null : moved.FileId,
                TransferRateMbps = elapsed > TimeSpan.Zero ? Math.Round(file.SizeBytes * 8 / 1e6 / elapsed.TotalSeconds, 3) : null,
            };
            Log.FileTransferred(ingest.Logger, file.FileId, source.Id, destination.Id, transfer.DeleteSource);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The server stops: the transfer stays as it stands, for the next start to take over.
            interrupted = true;
            Log.TransferInterrupted(ingest.Logger, transfer.TransferId, file.FileId, transfer.Status);
        }
        catch (Exception e)
        {
            var (code, message) = e switch
            {
                Sagas.SagaFailedException saga => (IngestErrorResponses.SagaCode(saga), IngestErrorResponses.SagaMessage(saga)),
                _ => (IngestErrors.InternalError, e.Message),
            };
            transfer = transfer with
            {
                Status = "failed", CompletedAt = ingest.Time.GetUtcNow(), Error = code, Message = Location.RedactUrls(message), DestinationFileId = null,
            };
            if (span is not null)
            {
                span.SetTag(IngestTelemetry.ErrorTag, code);
                span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, code);
            }
            Log.TransferFailed(ingest.Logger, file.FileId, destination.Id, message);
        }
        await renewal.CancelAsync().ConfigureAwait(false);
        await renewing.ConfigureAwait(false);
        try
        {
            if (!interrupted) await PutAsync(transfer, CancellationToken.None).ConfigureAwait(false);
            await ReleaseLeaseAsync(transfer.TransferId, interrupted).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.TransferFailed(ingest.Logger, file.FileId, destination.Id, $"its state could not be recorded: {e.Message}");
        }
    }

    /// <summary>Keeps the transfer's lease a duration ahead until <paramref name="cancellationToken"/>.</summary>
    private async Task RenewLeaseAsync(string transferId, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var state = (IAdapterStateStore)await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
                var until = ingest.Time.GetUtcNow() + LeaseDuration;
                await state.PutStateAsync(LeaseScope, transferId, until.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
                await Task.Delay(LeaseDuration / 3, ingest.Time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Without its lease a transfer may be taken over by another server's recovery: logged, not fatal to it.
            Log.TransferFailed(ingest.Logger, transferId, "", $"its lease could not be renewed: {e.Message}");
        }
    }

    /// <summary>A finished transfer's lease goes; an interrupted one's is let go by expiring it now, a value of its own,
    /// so that the takeover claim (<see cref="RecoverAsync"/>) of this interruption is not one an earlier takeover used.</summary>
    private async Task ReleaseLeaseAsync(string transferId, bool interrupted)
    {
        var state = (IAdapterStateStore)await ingest.ManifestAsync(CancellationToken.None).ConfigureAwait(false);
        if (interrupted)
            await state.PutStateAsync(LeaseScope, transferId, ingest.Time.GetUtcNow().UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture),
                CancellationToken.None).ConfigureAwait(false);
        else await state.DeleteStateAsync(LeaseScope, transferId, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Stops the transfers running here where they stand and waits for them (the server stops).</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(Running).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Each transfer records its own outcome.
        }
    }

    /// <summary>Takes over the unfinished transfers (queued, in_progress, verifying) whose lease is gone: each is resumed,
    /// finished or marked failed (see the class). Returns how many were taken.</summary>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var state = (IAdapterStateStore)await ingest.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var unfinished = new List<TransferBody>();
        await foreach (var entry in state.ListStateAsync(Scope, "", cancellationToken).ConfigureAwait(false))
        {
            if (JsonSerializer.Deserialize(entry.Value, TransferJson.Default.TransferBody) is { Status: "queued" or "in_progress" or "verifying" } t)
                unfinished.Add(t);
        }
        var taken = 0;
        foreach (var transfer in unfinished)
        {
            if (_running.ContainsKey(transfer.FileId)) continue;
            var lease = await state.GetStateAsync(LeaseScope, transfer.TransferId, cancellationToken).ConfigureAwait(false);
            if (lease is not null && long.TryParse(lease, System.Globalization.CultureInfo.InvariantCulture, out var ticks) && ticks > ingest.Time.GetUtcNow().UtcTicks)
                continue;
            // The claim of this lease (or of no lease yet: a transfer queued and never leased) is one atomic add of a
            // counter limited to 1: of servers taking it over at the same moment, exactly one wins; a later
            // interruption has another lease value, hence another claim.
            var claim = await state.TryAddAsync(ClaimScope, $"{transfer.TransferId}@{lease ?? "none"}", 1, 1, cancellationToken).ConfigureAwait(false);
            if (!claim.Added) continue;
            Interlocked.Increment(ref _takenOver);
            taken++;
            await TakeOverAsync(transfer, cancellationToken).ConfigureAwait(false);
        }
        return taken;
    }

    private async Task TakeOverAsync(TransferBody transfer, CancellationToken cancellationToken)
    {
        var records = await ingest.RecordsAsync(cancellationToken).ConfigureAwait(false);
        var file = await records.GetAsync(transfer.FileId, cancellationToken).ConfigureAwait(false);
        var source = ingest.Elements.Find(transfer.SourceStorageElementId);
        var destination = ingest.Elements.Find(transfer.DestinationStorageElementId);
        Log.TransferResumed(ingest.Logger, transfer.TransferId, transfer.FileId, transfer.Status);
        if (file is null || source is null || destination is null || (file.StorageElementId != source.Id && file.StorageElementId != destination.Id))
        {
            await RemoveCopyAsync(transfer, file, destination, records, cancellationToken).ConfigureAwait(false);
            await PutAsync(transfer with
            {
                Status = "failed", CompletedAt = ingest.Time.GetUtcNow(), Error = Interrupted, DestinationFileId = null,
                Message = "the transfer was interrupted by a server stop and cannot be resumed: its file or a storage element is gone; start it again",
            }, cancellationToken).ConfigureAwait(false);
            return;
        }
        // The record already names the destination (a move) or the copy exists (a copy): only the last steps were left.
        var moved = transfer.DeleteSource && file.StorageElementId == destination.Id;
        var copied = !transfer.DeleteSource && transfer.DestinationFileId is { } copyId && await records.GetAsync(copyId, cancellationToken).ConfigureAwait(false) is not null;
        if (moved || copied)
        {
            if (moved)
            {
                await new Sidecars(source).RemoveAsync(file, cancellationToken).ConfigureAwait(false);
                await RemoveAsync(source, source.Location.Child(file.StorageFilename), cancellationToken).ConfigureAwait(false);
            }
            await PutAsync(transfer with { Status = "completed", BytesTransferred = file.SizeBytes, CompletedAt = ingest.Time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
            return;
        }
        TryRegister(transfer, file, source, destination)?.SetResult();
    }

    /// <summary>Registers a run of <paramref name="transfer"/> as the one of its file, held until the returned gate is
    /// set (canceled: it never runs); null when the file has a run already.</summary>
    private TaskCompletionSource? TryRegister(TransferBody transfer, FileRecord file, StorageElement source, StorageElement destination)
    {
        var gate = new TaskCompletionSource();
        var run = Task.Run(async () =>
        {
            await gate.Task.ConfigureAwait(false);
            await RunAsync(transfer, file, source, destination).ConfigureAwait(false);
        }, CancellationToken.None);
        if (!_running.TryAdd(file.FileId, run))
        {
            gate.SetCanceled(CancellationToken.None);
            return null;
        }
        _ = run.ContinueWith(_ => _running.TryRemove(file.FileId, out var __), TaskScheduler.Default);
        return gate;
    }

    /// <summary>The copy through the host's engine: the file alone, as stored, with no stage or filter of the config's defaults.</summary>
    private async ValueTask<TransferSummary> CopyAsync(Location from, Location to, CancellationToken cancellationToken)
    {
        var options = host.Options(new JobSettings { Process = [], Include = [], Exclude = [], Extensions = [], ChunkSize = ingest.Settings.ChunkSize }, null, "transfer");
        var manifest = await host.ManifestAsync(cancellationToken).ConfigureAwait(false);
        var summary = await host.CreateEngine(manifest).CopyAsync(from, to, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (summary.Status != SessionStatus.Completed || summary.FilesFailed > 0)
            throw new LoadPipeException(summary.Failures.FirstOrDefault()?.ErrorKind ?? ErrorKind.Transient,
                $"the copy to {to} failed: {summary.Failures.FirstOrDefault()?.Error ?? summary.Status.ToString()}");
        return summary;
    }

    /// <summary>The destination's bytes hash to the file's SHA-256 (or, for an object stored transformed, to the source
    /// object's); without verify_checksum, its size matches the source object's.</summary>
    private static async Task VerifyAsync(FileRecord file, StorageElement source, Location from, StorageElement destination, Location to, bool checksum,
        CancellationToken cancellationToken)
    {
        if (!checksum)
        {
            var expected = await source.RunAsync(async c => (await from.Storage.StatAsync(from.Path, c).ConfigureAwait(false))?.Size, cancellationToken).ConfigureAwait(false);
            var actual = await destination.RunAsync(async c => (await to.Storage.StatAsync(to.Path, c).ConfigureAwait(false))?.Size, cancellationToken).ConfigureAwait(false);
            if (actual is null || actual != expected)
                throw new LoadPipeException(ErrorKind.Integrity, $"the copy at {destination.Id} holds {actual?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing"} bytes, not {expected}");
            return;
        }
        var copied = await Sha256Async(destination, to, cancellationToken).ConfigureAwait(false);
        if (copied == file.Sha256Hash) return;
        var original = await Sha256Async(source, from, cancellationToken).ConfigureAwait(false);
        if (copied != original)
            throw new LoadPipeException(ErrorKind.Integrity, $"the copy at {destination.Id} has SHA-256 {copied}, not the source's {original}");
    }

    private static async Task<string> Sha256Async(StorageElement element, Location object_, CancellationToken cancellationToken) =>
        await element.RunAsync(async c =>
        {
            await using var stream = await object_.Storage.OpenReadAsync(object_.Path, ReadOptions.FromStart, c).ConfigureAwait(false);
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, c).ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>The file as the transfer makes it at <paramref name="destination"/>: a move keeps its id and object name, a
    /// copy is a new file with <paramref name="copyId"/> and a name of its own.</summary>
    private static FileRecord AtDestination(FileRecord file, bool move, StorageElement destination, Guid copyId) => move
        ? file with { StorageElementId = destination.Id }
        : file with
        {
            FileId = copyId.ToString("D"), StorageElementId = destination.Id,
            StorageFilename = FileNames.StorageFilename(file.OriginalFilename, file.Owner, file.UploadedAt, copyId)
                + (file.Compression is { } compression ? Compression.StoredCompression.Suffix(compression) : ""),
        };

    /// <summary>An interrupted transfer that cannot go on: the copy it may have made at the destination (object and
    /// sidecar) goes, as the saga's undo would have removed it, when the records say it is no file's: a move whose
    /// record still names the source, a copy whose new file was never recorded. Without the file's record the copy
    /// cannot be named here; the leftover sweep (docs/ingest.md, "What crashes leave") removes it once old.</summary>
    private async Task RemoveCopyAsync(TransferBody transfer, FileRecord? file, StorageElement? destination, FileRecordStore records,
        CancellationToken cancellationToken)
    {
        if (file is null || destination is null || file.StorageElementId == destination.Id) return;
        FileRecord copy;
        if (transfer.DeleteSource) copy = AtDestination(file, true, destination, Guid.Empty);
        else if (transfer.DestinationFileId is { } planned && Guid.TryParse(planned, out var copyId)
                 && await records.GetAsync(planned, cancellationToken).ConfigureAwait(false) is null)
            copy = AtDestination(file, false, destination, copyId);
        else return;
        try
        {
            await new Sidecars(destination).RemoveAsync(copy, cancellationToken).ConfigureAwait(false);
            await RemoveAsync(destination, destination.Location.Child(copy.StorageFilename), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.TransferFailed(ingest.Logger, transfer.FileId, destination.Id, $"its copy at the destination could not be removed (the leftover sweep will): {e.Message}");
        }
    }

    private static Task RemoveAsync(StorageElement element, Location object_, CancellationToken cancellationToken) =>
        element.RunAsync(async c => element.Location.Storage is IObjectRemover remover && await remover.RemoveAsync(object_.Path, c).ConfigureAwait(false),
            cancellationToken).AsTask();

    private static async Task<TransferRequest> ReadRequestAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
            throw new IngestException(415, IngestErrors.InvalidRequest, "send the transfer as application/json");
        TransferRequest? parsed;
        try
        {
            parsed = await JsonSerializer.DeserializeAsync(request.Body, TransferJson.Default.TransferRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new IngestException(400, IngestErrors.InvalidRequest, $"the body is not a transfer request ({e.Message})");
        }
        if (parsed is null || string.IsNullOrWhiteSpace(parsed.DestinationStorageElementId))
            throw new IngestException(400, IngestErrors.InvalidRequest, "give destination_storage_element_id");
        return parsed;
    }
}

/// <summary>The body of `POST /api/files/{id}/transfer`.</summary>
public sealed record TransferRequest
{
    [JsonPropertyName("destination_storage_element_id")] public string? DestinationStorageElementId { get; init; }

    /// <summary>true: a move (the source goes once the copy is verified); false (the default): a copy, a new file.</summary>
    [JsonPropertyName("delete_source")] public bool DeleteSource { get; init; }

    /// <summary>Read the copy back and compare its SHA-256 (the default); false: compare its size only.</summary>
    [JsonPropertyName("verify_checksum")] public bool VerifyChecksum { get; init; } = true;
}

/// <summary>A transfer's state: the 202 of its start and `GET /api/files/transfer/{id}`.</summary>
public sealed record TransferBody
{
    [JsonPropertyName("transfer_id")] public required string TransferId { get; init; }

    /// <summary>queued, in_progress, verifying, completed or failed.</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }

    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("source_storage_element_id")] public required string SourceStorageElementId { get; init; }
    [JsonPropertyName("destination_storage_element_id")] public required string DestinationStorageElementId { get; init; }
    [JsonPropertyName("delete_source")] public bool DeleteSource { get; init; }
    [JsonPropertyName("verify_checksum")] public bool VerifyChecksum { get; init; }
    [JsonPropertyName("bytes_total")] public long BytesTotal { get; init; }
    [JsonPropertyName("bytes_transferred")] public long BytesTransferred { get; init; }
    [JsonPropertyName("transfer_rate_mbps")] public double? TransferRateMbps { get; init; }
    [JsonPropertyName("queued_at")] public DateTimeOffset QueuedAt { get; init; }
    [JsonPropertyName("started_at")] public DateTimeOffset? StartedAt { get; init; }
    [JsonPropertyName("completed_at")] public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>A copy's new file at the destination (a move keeps the file's id).</summary>
    [JsonPropertyName("destination_file_id")] public string? DestinationFileId { get; init; }

    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

[JsonSerializable(typeof(TransferRequest))]
[JsonSerializable(typeof(TransferBody))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class TransferJson : JsonSerializerContext;

