using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Resilience;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Transfers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace LoadPipe.Core.Uploads;

/// <summary>
/// The push entry (<see cref="IUploads"/>) over a manifest that keeps uploads (<see cref="IUploadStore"/>): each upload
/// is a transfer from "upload:ID" to its destination, whose confirmed chunks, sink state and epoch work as a pulled
/// transfer's do (`lp status`, fencing, the transfer lock), plus the tail it received beyond them. See
/// docs/architecture.md, "The push entry". One instance per process; every process that shares the manifest can
/// continue any upload.
/// <code>
/// await using var uploads = await host.CreateUploadsAsync();
/// var upload = await uploads.CreateAsync(new NewUpload { Destination = host.Resolver.Resolve("/srv/in/a.bin"), Length = 3 });
/// upload = await uploads.AppendAsync(upload.Id, 0, body, AppendOptions.None);
/// </code>
/// </summary>
public sealed partial class UploadService : IUploads, IAsyncDisposable
{
    private readonly IManifest _manifest;
    private readonly IUploadStore _store;
    private readonly Func<string, Location> _resolve;
    private readonly StageCatalog _stages;
    private readonly UploadServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    // The lease this process holds on each upload's transfer: an append reuses it while the transfer's epoch is still
    // the one it took, and takes the transfer again (a new epoch) when another process took it meanwhile.
    private readonly ConcurrentDictionary<string, TransferLease> _leases = new(StringComparer.Ordinal);
    // SHA-256 and MD5 of each upload's output so far, for the uploads whose every byte passed through this process.
    private readonly ConcurrentDictionary<string, RunningHashes> _hashes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sessionGate = new(1, 1);
    private long? _sessionId;
    private IAsyncDisposable? _sessionAlive;
    private int _completed;
    private long _completedBytes;

    /// <param name="resolve">Turns a destination's manifest key (<see cref="Location.Key"/>) back into a location:
    /// <see cref="LocationResolver.Resolve"/>, which reads the keys it makes.</param>
    public UploadService(IManifest manifest, Func<string, Location> resolve, StageCatalog? stages = null, UploadServiceOptions? options = null,
        TimeProvider? time = null, ILogger? logger = null)
    {
        _manifest = manifest;
        _store = manifest as IUploadStore
            ?? throw new LoadPipeException(ErrorKind.Usage, $"manifest {manifest.Description} cannot keep uploads");
        _resolve = resolve;
        _stages = stages ?? new StageCatalog(allowExec: false);
        _options = options ?? new UploadServiceOptions();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _retry = RetryPolicy.Create(_options.Retries, _options.RetryDelay, _options.MaxRetryDelay, _time,
            (e, attempt, delay) => _logger.Retrying(attempt, e.Message, delay));
    }

    public async Task<Upload> CreateAsync(NewUpload request, CancellationToken cancellationToken = default)
    {
        if (request.Length is < 0) throw new LoadPipeException(ErrorKind.Usage, $"upload length {request.Length} is negative");
        var id = request.Id ?? Guid.NewGuid().ToString("N");
        if (!UploadId().IsMatch(id))
            throw new LoadPipeException(ErrorKind.Usage, $"upload id '{id}' is not 1 to 128 letters, digits, '-' or '_'");
        var destination = request.Destination;
        CheckDestination(destination);
        if (request.Intermediate && !StorageFeatures.Of(destination.Storage).Remove)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination}: {destination.Storage.Description} cannot remove objects, so it cannot hold an intermediate upload");
        var pipeline = Pipeline(request.Stages);
        var sessionId = await SessionAsync(cancellationToken).ConfigureAwait(false);
        var record = await _store.CreateUploadAsync(
            new NewUploadRecord(id, destination.Key, pipeline, request.Length, request.Metadata, _time.GetUtcNow(), request.Expires, request.Intermediate,
                request.Provisional),
            UploadRows.KeyOf(id, destination.Key, pipeline), sessionId, cancellationToken).ConfigureAwait(false);
        _leases[id] = record.Lease;
        Replace(id, new RunningHashes(record.Epoch, request.Md5 ?? Options.Md5));
        _logger.UploadCreated(id, destination.ToString());
        if (record.Length == 0) return await CompleteAsync(id, cancellationToken).ConfigureAwait(false);
        return record.ToUpload();
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial Regex UploadId();

    private static void CheckDestination(Location destination)
    {
        if (destination.IsFolderHint || destination.Path.Length == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination} names a folder: an upload needs the path of the object it becomes");
        var features = StorageFeatures.Of(destination.Storage);
        if (!features.Write || destination.Storage is not IWritableStorage)
            throw new LoadPipeException(ErrorKind.Usage, $"{destination}: {destination.Storage.Description} cannot be written to");
        if (!features.ResumableWrite || destination.Storage is not IResumableWriter)
            throw new LoadPipeException(ErrorKind.Usage,
                $"{destination}: {destination.Storage.Description} cannot take an upload (its writes cannot be continued by a later append)");
    }

    /// <summary>The stages an upload may go through: framed ones (zstd, gzip), which frame each append's bytes on their
    /// own, so that an append may end anywhere and any process may take the next. The others keep state across appends.</summary>
    private string Pipeline(IReadOnlyList<string> specs)
    {
        var stages = _stages.ParseAll(specs);
        if (stages.FirstOrDefault(s => s.Resume != StageResume.Framed || s is not IFramedStage) is { } refused)
            throw new LoadPipeException(ErrorKind.Usage,
                $"stage {refused.Spec} cannot run on an upload: it keeps state from one append to the next ({refused.Resume.ToString().ToLowerInvariant()}); only framed stages (zstd, gzip) can");
        return string.Join(StageCatalog.PipelineSeparator, stages.Select(s => s.Spec));
    }

    private IReadOnlyList<IFramedStage> FramedStages(UploadRecord row) =>
        [.. _stages.ParseAll(StageCatalog.SplitPipeline(row.Pipeline)).Cast<IFramedStage>()];

    public async Task<Upload?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        (await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false))?.ToUpload();

    public async Task<Upload> DeclareLengthAsync(string id, long length, CancellationToken cancellationToken = default)
    {
        var before = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id);
        if (length < 0) throw new UploadConflictException($"upload length {length} is negative", before.Offset);
        var row = await _store.DeclareUploadLengthAsync(id, length, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id);
        if (row.Length != length)
            throw new UploadConflictException(row.Length is { } set
                ? $"upload {id} already has length {set}"
                : $"length {length} is below the {row.Offset} bytes upload {id} already received", row.Offset);
        return row.Status == UploadStatus.Open && row.Offset == length
            ? await CompleteAsync(id, cancellationToken).ConfigureAwait(false)
            : row.ToUpload();
    }

    public async Task<Upload> AppendAsync(string id, long offset, Stream body, AppendOptions options, CancellationToken cancellationToken = default)
    {
        var bodyHash = options.Checksum is { } checksum ? BodyHash(checksum) : null;
        try
        {
            CheckAppend(await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id), offset);
            await using var held = await LockAsync(id, cancellationToken).ConfigureAwait(false);
            var row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id);
            CheckAppend(row, offset);
            var lease = await LeaseAsync(row, cancellationToken).ConfigureAwait(false);
            var destination = _resolve(row.Destination);
            var tail = row.TailLength > 0 ? await _store.GetUploadTailAsync(id, cancellationToken).ConfigureAwait(false) : [];
            var session = await OpenSessionAsync(row, destination, cancellationToken).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.ResumeMismatch,
                    $"upload {id}: {destination} no longer holds the {row.BytesConfirmed} bytes confirmed earlier (its upload session is gone)");
            await using var append = new UploadAppend(this, row, lease, destination, session, tail, TakeHashes(row, lease), FramedStages(row));
            var limit = Math.Min(row.Length is { } length ? length - row.Offset : long.MaxValue, options.MaxLength ?? long.MaxValue);
            var completing = options.Complete && row.Length is null;
            var outcome = await append.RunAsync(body, limit, bodyHash, options.Checksum, options.Expires, completing, cancellationToken).ConfigureAwait(false);
            var result = outcome.Upload;
            if (row.Length == result.Offset) result = await FinishAsync(append, cancellationToken, check: options.CheckWhole).ConfigureAwait(false);
            else if (completing && outcome.Failure is null && !outcome.TooLarge)
            {
                try
                {
                    result = await FinishAsync(append, cancellationToken, declaredLength: result.Offset, check: options.CheckWhole).ConfigureAwait(false);
                }
                catch
                {
                    // Nothing of this append was recorded: the partial object goes with it (a commit that got as far as
                    // the rename leaves an object the manifest does not report).
                    await append.AbortAsync().ConfigureAwait(false);
                    throw;
                }
            }
            else if (append.TakeHashes() is { } hashes)
            {
                Replace(id, hashes);
                var (sha256, md5) = hashes.Current();
                result = result with { Received = new UploadHashes(sha256, md5) };
            }
            outcome.Failure?.Throw();
            if (outcome.TooLarge)
                throw new UploadTooLargeException(row.Length is { } l && result.Offset == l
                    ? $"the body goes past the upload's length ({l} bytes): the bytes up to it were kept"
                    : $"the body goes past the {options.MaxLength} bytes one append may take: the bytes up to that were kept");
            return result;
        }
        finally
        {
            bodyHash?.Dispose();
        }
    }

    private static void CheckAppend(UploadRecord row, long offset)
    {
        if (row.Status == UploadStatus.Completed)
            throw new UploadConflictException($"upload {row.Id} is completed", row.Offset);
        if (offset != row.Offset)
            throw new UploadConflictException($"offset {offset} is not upload {row.Id}'s offset, {row.Offset}", row.Offset);
    }

    private static IncrementalHash BodyHash(BodyChecksum checksum) => checksum.Algorithm.ToLowerInvariant() switch
    {
        "sha1" => IncrementalHash.CreateHash(HashAlgorithmName.SHA1),
        "md5" => IncrementalHash.CreateHash(HashAlgorithmName.MD5),
        "sha256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        _ => throw new LoadPipeException(ErrorKind.Usage, $"checksum algorithm '{checksum.Algorithm}' is not supported (known: {string.Join(", ", BodyChecksum.Algorithms)})"),
    };

    public async Task<Upload> CompleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id);
        if (row.Status == UploadStatus.Completed) return row.ToUpload();
        await using var held = await LockAsync(id, cancellationToken).ConfigureAwait(false);
        row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id);
        if (row.Status == UploadStatus.Completed) return row.ToUpload();
        if (row.Length != row.Offset)
            throw new UploadConflictException(row.Length is { } length
                ? $"upload {id} holds {row.Offset} of its {length} bytes"
                : $"upload {id} has no length yet", row.Offset);
        var lease = await LeaseAsync(row, cancellationToken).ConfigureAwait(false);
        var destination = _resolve(row.Destination);
        var tail = row.TailLength > 0 ? await _store.GetUploadTailAsync(id, cancellationToken).ConfigureAwait(false) : [];
        var session = await OpenSessionAsync(row, destination, cancellationToken).ConfigureAwait(false);
        // An object found in place is adopted only once its confirmed bytes are read back and match their chunks, so
        // hashes this process kept do not stand in for that read.
        var hashes = session is null ? null : TakeHashes(row, lease);
        session ??= await FinishedAtDestinationAsync(row, destination, cancellationToken).ConfigureAwait(false);
        await using var append = new UploadAppend(this, row, lease, destination, session, tail, hashes, FramedStages(row));
        return await FinishAsync(append, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Commits, hashes and records the completion; the upload's caches go.</summary>
    private async Task<Upload> FinishAsync(UploadAppend append, CancellationToken cancellationToken, long? declaredLength = null,
        Func<Stream, CancellationToken, Task>? check = null)
    {
        var done = await append.CompleteAsync(cancellationToken, declaredLength, check).ConfigureAwait(false);
        Forget(done.Id);
        Interlocked.Increment(ref _completed);
        Interlocked.Add(ref _completedBytes, done.Length ?? 0);
        _logger.UploadCompleted(done.Id, done.Length ?? 0, Location.Display(done.Destination));
        return done;
    }

    /// <summary>The session is gone, but a process killed between the commit and its record (the local rename, S3's
    /// CompleteMultipartUpload) left the finished object: a session that compares the output with it instead of
    /// writing, so that it is adopted only if it holds exactly this upload's bytes.</summary>
    private async Task<IWriteSession> FinishedAtDestinationAsync(UploadRecord row, Location destination, CancellationToken cancellationToken)
    {
        var expected = row.BytesConfirmed + row.TailLength;
        var info = StorageFeatures.Of(destination.Storage).RangedRead
            ? await _retry.ExecuteAsync(async ct => await destination.Storage.StatAsync(destination.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
            : null;
        if (info is not { IsDirectory: false } || info.Size != expected)
            throw new LoadPipeException(ErrorKind.ResumeMismatch,
                $"upload {row.Id}: {destination} no longer holds the {row.BytesConfirmed} bytes confirmed earlier (its upload session is gone)");
        _logger.UploadAdopted(row.Id);
        return new ComparingWriteSession(destination.Storage, destination.Path, info, row.BytesConfirmed, row.SinkState);
    }

    public async Task<bool> AbortAsync(string id, CancellationToken cancellationToken = default)
    {
        var row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (row is null) return false;
        if (row.Status == UploadStatus.Completed)
        {
            Forget(id);
            if (row.Intermediate) await RemoveObjectAsync(row, cancellationToken).ConfigureAwait(false);
            return await _store.DeleteUploadAsync(id, cancellationToken).ConfigureAwait(false);
        }
        await using var held = await LockAsync(id, cancellationToken).ConfigureAwait(false);
        row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (row is null) return false;
        if (row.Status == UploadStatus.Open)
        {
            var lease = await LeaseAsync(row, cancellationToken).ConfigureAwait(false);
            await DropReceivedAsync(row, cancellationToken).ConfigureAwait(false);
            await _manifest.FailTransferAsync(lease, "upload aborted", cancellationToken).ConfigureAwait(false);
        }
        Forget(id);
        var deleted = await _store.DeleteUploadAsync(id, cancellationToken).ConfigureAwait(false);
        _logger.UploadAborted(id);
        return deleted;
    }

    public async Task<bool> DiscardAsync(string id, CancellationToken cancellationToken = default)
    {
        if (await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) is null) return false;
        await using var held = await LockAsync(id, cancellationToken).ConfigureAwait(false);
        var row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (row is null) return false;
        if (row.Status != UploadStatus.Open || row.Offset > 0)
            throw new UploadConflictException($"upload {id} received {row.Offset} bytes: it can be aborted, not discarded", row.Offset);
        await DropReceivedAsync(row, cancellationToken).ConfigureAwait(false);
        Forget(id);
        var discarded = await _store.DiscardUploadAsync(id, cancellationToken).ConfigureAwait(false);
        _logger.UploadAborted(id);
        return discarded;
    }

    /// <summary>The object a completed intermediate upload made, removed before its record goes: a crash in between
    /// leaves the record, and the next sweep removes nothing twice.</summary>
    private async Task RemoveObjectAsync(UploadRecord row, CancellationToken cancellationToken)
    {
        var destination = _resolve(row.Destination);
        if (StorageFeatures.Of(destination.Storage).As<IObjectRemover>(destination.Storage) is not { } remover) return;
        await _retry.ExecuteAsync(async ct => await remover.RemoveAsync(destination.Path, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        _logger.UploadObjectRemoved(row.Id, destination.ToString());
    }

    /// <summary>Drops what the destination holds of the upload (the partial file, the multipart upload), as a pulled
    /// transfer that starts again does: the session resumed at zero, then aborted.</summary>
    private async Task DropReceivedAsync(UploadRecord row, CancellationToken cancellationToken)
    {
        if (row.SinkState is not { } state) return;
        try
        {
            var destination = _resolve(row.Destination);
            if (destination.Storage is not IResumableWriter resumable) return;
            var session = await resumable.ResumeWriteAsync(destination.Path, state, 0, Request(row), cancellationToken).ConfigureAwait(false);
            if (session is null) return;
            await using (session.ConfigureAwait(false))
                await session.AbortAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (LoadPipeException e)
        {
            _logger.UploadAbortFailed(row.Id, e.Message);
        }
    }

    public async IAsyncEnumerable<Upload> ListExpiredAsync(DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var row in _store.ListExpiredUploadsAsync(now, limit, cancellationToken).ConfigureAwait(false))
            yield return row.ToUpload();
    }

    /// <summary>The upload's transfer lock, then its destination's (the order every writer takes them in): one append at
    /// a time per upload, across every process sharing the manifest. Either held elsewhere: <see cref="ErrorKind.Busy"/>.</summary>
    private async Task<IAsyncDisposable> LockAsync(string id, CancellationToken cancellationToken)
    {
        var row = await _store.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UploadNotFoundException(id);
        var transfer = await _manifest.TryLockAsync(row.Key, cancellationToken).ConfigureAwait(false)
            ?? throw new LoadPipeException(ErrorKind.Busy, $"upload {id} is busy: another request is appending to it");
        try
        {
            var destination = await _manifest.TryLockAsync(ManifestQueries.DestinationLock(row.Destination), cancellationToken).ConfigureAwait(false)
                ?? throw new LoadPipeException(ErrorKind.Busy, $"destination busy: another lp process is writing {Location.Display(row.Destination)}");
            return new Held(transfer, destination);
        }
        catch
        {
            await transfer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed class Held(IAsyncDisposable transfer, IAsyncDisposable destination) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await destination.DisposeAsync().ConfigureAwait(false);
            await transfer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>This process's lease on the upload's transfer: the one it holds while the epoch is unchanged, else the
    /// transfer taken again (attached to this process's session, a new epoch that fences off whoever had it).</summary>
    private async Task<TransferLease> LeaseAsync(UploadRecord row, CancellationToken cancellationToken)
    {
        if (_leases.TryGetValue(row.Id, out var held) && held.Epoch == row.Epoch) return held;
        var sessionId = await SessionAsync(cancellationToken).ConfigureAwait(false);
        var lease = await _manifest.AttachTransferAsync(row.TransferId, sessionId, cancellationToken).ConfigureAwait(false);
        _leases[row.Id] = lease;
        return lease;
    }

    /// <summary>Through stages the object's size is not the upload's length: unknown. Unbuffered: every append is
    /// flushed before it is acknowledged, and nothing reads the bytes back before the completion.</summary>
    internal WriteRequest Request(UploadRecord row) =>
        new() { ExpectedSize = row.Pipeline.Length == 0 ? row.Length ?? -1 : -1, Source = "upload:" + row.Id, Unbuffered = true };

    /// <summary>The destination's write session at the confirmed length: begun when nothing reached it yet, else resumed
    /// from the sink state (null when the store no longer has it).</summary>
    private async Task<IWriteSession?> OpenSessionAsync(UploadRecord row, Location destination, CancellationToken cancellationToken)
    {
        var request = Request(row);
        if (row.SinkState is null)
        {
            if (row.BytesConfirmed > 0) return null;
            var writer = (IWritableStorage)destination.Storage;
            return await _retry.ExecuteAsync(async ct => await writer.BeginWriteAsync(destination.Path, request, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        var resumable = (IResumableWriter)destination.Storage;
        return await _retry.ExecuteAsync(async ct =>
            await resumable.ResumeWriteAsync(destination.Path, row.SinkState, row.BytesConfirmed, request, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A copy of this process's running hashes of the upload, when they cover exactly the output the manifest
    /// holds (every byte passed through this process, and no other process took the upload since); else null, and the
    /// completion reads the earlier bytes back.</summary>
    private RunningHashes? TakeHashes(UploadRecord row, TransferLease lease) =>
        _hashes.TryGetValue(row.Id, out var kept) && kept.Position == row.BytesConfirmed + row.TailLength && (kept.Epoch == row.Epoch || kept.Epoch == lease.Epoch)
            ? kept.Clone(lease.Epoch)
            : null;

    private void Replace(string id, RunningHashes hashes)
    {
        if (_hashes.TryGetValue(id, out var old) && ReferenceEquals(old, hashes)) return;
        _hashes[id] = hashes;
        old?.Dispose();
    }

    private void Forget(string id)
    {
        _leases.TryRemove(id, out _);
        if (_hashes.TryRemove(id, out var hashes)) hashes.Dispose();
    }

    internal IUploadStore Store => _store;
    internal IManifest Manifest => _manifest;
    internal ResiliencePipeline Retry => _retry;
    internal UploadServiceOptions Options => _options;

    /// <summary>This process's session in the manifest, begun on first use and held alive (its lock) until disposed:
    /// the uploads it creates or continues are its files in `lp status`.</summary>
    private async Task<long> SessionAsync(CancellationToken cancellationToken)
    {
        if (_sessionId is { } id) return id;
        await _sessionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sessionId is { } started) return started;
            var session = await _manifest.BeginSessionAsync(new SessionStart(_options.Command, "push", _options.SessionDestination), cancellationToken).ConfigureAwait(false);
            _sessionAlive = await _manifest.TryLockAsync(ManifestQueries.SessionLock(session), cancellationToken).ConfigureAwait(false);
            _sessionId = session;
            return session;
        }
        finally
        {
            _sessionGate.Release();
        }
    }

    /// <summary>Records the end of this process's session (the uploads it completed) and lets go of it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_sessionId is { } id)
        {
            var completed = Volatile.Read(ref _completed);
            var bytes = Interlocked.Read(ref _completedBytes);
            await _manifest.EndSessionAsync(id, new SessionSummary(SessionStatus.Completed, completed, 0, 0, bytes, bytes), CancellationToken.None).ConfigureAwait(false);
        }
        if (_sessionAlive is not null) await _sessionAlive.DisposeAsync().ConfigureAwait(false);
        foreach (var hashes in _hashes.Values) hashes.Dispose();
        _hashes.Clear();
        _sessionGate.Dispose();
    }
}

/// <summary>SHA-256 (and MD5, unless left out) of an upload's output from its first byte to <see cref="Position"/>.</summary>
internal sealed class RunningHashes : IDisposable
{
    private readonly IncrementalHash _sha256;
    private readonly IncrementalHash? _md5;

    public RunningHashes(long epoch, bool md5)
        : this(0, epoch, IncrementalHash.CreateHash(HashAlgorithmName.SHA256), md5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null)
    {
    }

    private RunningHashes(long position, long epoch, IncrementalHash sha256, IncrementalHash? md5)
    {
        Position = position;
        Epoch = epoch;
        _sha256 = sha256;
        _md5 = md5;
    }

    public long Position { get; private set; }

    /// <summary>The epoch of the lease they were kept under.</summary>
    public long Epoch { get; }

    public void Append(ReadOnlySpan<byte> data)
    {
        _sha256.AppendData(data);
        _md5?.AppendData(data);
        Position += data.Length;
    }

    public RunningHashes Clone(long epoch) => new(Position, epoch, _sha256.Clone(), _md5?.Clone());

    public (string Sha256, string? Md5) Current() =>
        (Convert.ToHexStringLower(_sha256.GetCurrentHash()), _md5 is null ? null : Convert.ToHexStringLower(_md5.GetCurrentHash()));

    public void Dispose()
    {
        _sha256.Dispose();
        _md5?.Dispose();
    }
}
