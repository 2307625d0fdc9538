using System.IO.Hashing;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using LoadPipe.Core.Buffers;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Transfers;

namespace LoadPipe.Core.Uploads;

/// <summary>
/// One append to an upload (or its completion), under the upload's lock: the bytes not yet written to the destination
/// (<c>pending</c>: the recorded tail, then the body) go to the write session in writes that keep the store's rules
/// (a multiple of its alignment, at least its minimum: an S3 part), and what is left is recorded as a tail segment.
/// The manifest learns of a write only once the store holds it durably (<see cref="IWriteSession.FlushAsync"/>), in
/// the same transaction that drops the tail it took and moves the upload's offset.
/// </summary>
internal sealed class UploadAppend : IAsyncDisposable
{
    private readonly UploadService _service;
    private readonly UploadRecord _row;
    private readonly TransferLease _lease;
    private readonly Location _destination;
    private readonly IWriteSession _session;
    private readonly int _writeSize;
    private readonly int _capacity;
    // A store that takes writes of any size (local disk) is written through a small buffer, so that many uploads at once
    // hold little memory; progress is still recorded (flushed and confirmed) once per write size, not once per buffer.
    private const int DirectBuffer = 1 << 20;
    private long _writtenAtRecord;
    private readonly byte[] _pending;
    private readonly List<ChunkRecord> _unconfirmed = [];
    private int _count;
    // The first bytes of _pending that the manifest holds as tail segments already.
    private int _recordedTail;
    private bool _wroteSinceRecord;
    // The output offset of _pending[0]: what the write session holds.
    private long _written;
    private int _nextChunk;
    private long _recordedOffset;
    // The expiry each record of this append renews the upload to; null: left as it is.
    private DateTimeOffset? _expires;
    private RunningHashes? _hashes;
    // Framed stages: the body is read into _input, and each full input chunk (and what is left at the end of the
    // append) becomes one frame of every stage, which goes to _pending as output.
    private readonly IReadOnlyList<IFramedStage> _stages;
    private readonly byte[]? _input;
    private int _inputCount;
    private readonly FrameBuffer[] _frames = [new(), new()];

    public UploadAppend(UploadService service, UploadRecord row, TransferLease lease, Location destination, IWriteSession session,
        IReadOnlyList<UploadTailSegment> tail, RunningHashes? hashes, IReadOnlyList<IFramedStage> stages)
    {
        _stages = stages;
        if (stages.Count > 0) _input = ChunkPool.Rent(service.Options.ChunkSize);
        _service = service;
        _row = row;
        _lease = lease;
        _destination = destination;
        _session = session;
        _hashes = hashes;
        _written = row.BytesConfirmed;
        _writtenAtRecord = _written;
        _nextChunk = row.NextChunk;
        _recordedOffset = row.Offset;
        var alignment = Math.Max(1, session.ChunkAlignment);
        var size = session.PreferredWriteSize ?? service.Options.ChunkSize;
        _writeSize = (int)Math.Max(session.MinimumWriteSize, Math.Max(alignment, size / alignment * alignment));
        var tailLength = tail.Sum(s => s.Bytes.Length);
        var direct = alignment == 1 && session.MinimumWriteSize == 0;
        _capacity = Math.Max(direct ? Math.Min(_writeSize, DirectBuffer) : _writeSize, tailLength);
        _pending = ChunkPool.Rent(_capacity);
        foreach (var segment in tail)
        {
            if (segment.Start != _written + _count)
                throw new LoadPipeException(ErrorKind.ResumeMismatch, $"upload {row.Id}: its kept tail has a gap at byte {_written + _count}");
            segment.Bytes.CopyTo(_pending, _count);
            _count += segment.Bytes.Length;
        }
        _recordedTail = _count;
    }

    /// <summary>The running hashes after this append, for the next one in this process (null when they do not cover
    /// every byte kept); taking them leaves none here.</summary>
    public RunningHashes? TakeHashes()
    {
        var hashes = _hashes;
        _hashes = null;
        return hashes;
    }

    /// <summary>Reads the body, up to <paramref name="limit"/> bytes, into the destination and the tail, and records
    /// what it kept. A read that fails part way (the client went away) keeps what arrived, unless a checksum must cover
    /// the whole body; the failure is handed back for the caller to rethrow once it is done.</summary>
    /// <para>With <paramref name="completing"/>, a body read whole is not recorded here: <see cref="CompleteAsync"/>
    /// follows and records it with the completion.</para>
    public async Task<AppendOutcome> RunAsync(Stream body, long limit, IncrementalHash? bodyHash, BodyChecksum? checksum, DateTimeOffset? expires,
        bool completing, CancellationToken cancellationToken)
    {
        _expires = expires;
        var (read, failure) = _stages.Count > 0
            ? await ReadFramedAsync(body, limit, bodyHash, cancellationToken).ConfigureAwait(false)
            : await ReadAsync(body, limit, bodyHash, cancellationToken).ConfigureAwait(false);
        var tooLarge = false;
        if (failure is null && read == limit && limit != long.MaxValue)
        {
            // One byte more says the body goes on past the limit; the rest is never read.
            var probe = new byte[1];
            try
            {
                tooLarge = await body.ReadAsync(probe, cancellationToken).ConfigureAwait(false) > 0;
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }
        if (checksum is not null)
        {
            // Nothing of a checksummed body is kept unless all of it arrived and matches.
            failure?.Throw();
            if (tooLarge)
                throw new UploadTooLargeException($"the body goes past the {limit} bytes this append may take: nothing of it was kept (its checksum covers the whole body)");
            var digest = bodyHash!.GetCurrentHash();
            if (!digest.AsSpan().SequenceEqual(checksum.Digest))
                throw new UploadChecksumException(
                    $"the body's {checksum.Algorithm} is {Convert.ToHexStringLower(digest)}, not {Convert.ToHexStringLower(checksum.Digest)}: nothing of it was kept");
        }
        // A client that went away cancels the request: what arrived is kept all the same.
        var keep = failure is null ? cancellationToken : CancellationToken.None;
        if (_inputCount > 0) await FrameAsync(keep).ConfigureAwait(false);
        var offset = _row.Offset + read;
        if (!completing || failure is not null || tooLarge) await KeepAsync(offset, completes: _row.Length == offset, keep).ConfigureAwait(false);
        return new AppendOutcome(_row.ToUpload() with { Offset = offset, Expires = _expires ?? _row.Expires }, failure, tooLarge);
    }

    /// <summary>Reads the body straight into the pending bytes. Without a checksum every store write is recorded as it
    /// is made, so a long body's progress is kept as it goes.</summary>
    private async Task<(long Read, ExceptionDispatchInfo? Failure)> ReadAsync(Stream body, long limit, IncrementalHash? bodyHash, CancellationToken cancellationToken)
    {
        var recordAsYouGo = bodyHash is null;
        long read = 0;
        ExceptionDispatchInfo? failure = null;
        while (read < limit)
        {
            if (_count == _capacity)
            {
                await WriteAlignedAsync(cancellationToken).ConfigureAwait(false);
                if (recordAsYouGo && _wroteSinceRecord && _written - _writtenAtRecord >= _writeSize)
                    await RecordAsync(_row.Offset + read, cancellationToken).ConfigureAwait(false);
            }
            int n;
            try
            {
                n = await body.ReadAsync(_pending.AsMemory(_count, (int)Math.Min(_capacity - _count, limit - read)), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
                break;
            }
            if (n == 0) break;
            var data = _pending.AsSpan(_count, n);
            bodyHash?.AppendData(data);
            _hashes?.Append(data);
            _count += n;
            read += n;
        }
        return (read, failure);
    }

    /// <summary>Reads the body into input chunks, each framed on its own by every stage as soon as it is full: the
    /// output of an append never depends on the bytes before it, so any process can take the next one. The last,
    /// shorter chunk is framed once the checksum (if any) is known to match. Nothing is recorded before the end.</summary>
    private async Task<(long Read, ExceptionDispatchInfo? Failure)> ReadFramedAsync(Stream body, long limit, IncrementalHash? bodyHash, CancellationToken cancellationToken)
    {
        var chunk = _service.Options.ChunkSize;
        long read = 0;
        while (read < limit)
        {
            if (_inputCount == chunk) await FrameAsync(cancellationToken).ConfigureAwait(false);
            int n;
            try
            {
                n = await body.ReadAsync(_input.AsMemory(_inputCount, (int)Math.Min(chunk - _inputCount, limit - read)), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return (read, ExceptionDispatchInfo.Capture(e));
            }
            if (n == 0) break;
            bodyHash?.AppendData(_input.AsSpan(_inputCount, n));
            _inputCount += n;
            read += n;
        }
        return (read, null);
    }

    /// <summary>The input chunk read so far as one frame of each stage in turn, added to the pending output.</summary>
    private async Task FrameAsync(CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> data = _input.AsMemory(0, _inputCount);
        for (var i = 0; i < _stages.Count; i++)
        {
            var frame = _frames[i % 2];
            frame.Reset();
            FrameEncoding.Encode(_stages[i], data.Span, frame);
            data = frame.WrittenMemory;
        }
        _inputCount = 0;
        while (!data.IsEmpty)
        {
            if (_count == _capacity) await WriteAlignedAsync(cancellationToken).ConfigureAwait(false);
            var n = Math.Min(data.Length, _capacity - _count);
            data.Span[..n].CopyTo(_pending.AsSpan(_count));
            _hashes?.Append(data.Span[..n]);
            _count += n;
            data = data[n..];
        }
    }

    /// <summary>The end of an append: the store takes what it can of the pending bytes, the rest is kept as tail.</summary>
    private async Task KeepAsync(long offset, bool completes, CancellationToken cancellationToken)
    {
        // A store with a minimum write may hold a first write that is the whole object until its commit (S3 sends an
        // object smaller than a part as one PutObject): such a write goes with the completion, and is kept as tail till then.
        var aligned = _count / Math.Max(1, _session.ChunkAlignment) * Math.Max(1, _session.ChunkAlignment);
        var heldByStore = completes && _session.MinimumWriteSize > 0 && _written == 0 && aligned == _count;
        if (!heldByStore) await WriteAlignedAsync(cancellationToken).ConfigureAwait(false);
        await RecordAsync(offset, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the longest prefix of the pending bytes that the store takes as a write before the last.</summary>
    private async Task WriteAlignedAsync(CancellationToken cancellationToken)
    {
        var alignment = Math.Max(1, _session.ChunkAlignment);
        var part = Math.Min(_count, _capacity) / alignment * alignment;
        if (part == 0 || part < _session.MinimumWriteSize) return;
        await WriteFrontAsync(part, final: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteFrontAsync(int count, bool final, CancellationToken cancellationToken)
    {
        var data = _pending.AsMemory(0, count);
        var checksum = Convert.ToHexStringLower(XxHash3.Hash(data.Span));
        await _service.Retry.ExecuteAsync(async ct =>
        {
            if (final) await _session.WriteFinalAsync(data, ct).ConfigureAwait(false);
            else await _session.WriteAsync(data, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (!final) _unconfirmed.Add(new ChunkRecord(_nextChunk++, _written, count, null, checksum));
        _written += count;
        _wroteSinceRecord = true;
        Buffer.BlockCopy(_pending, count, _pending, 0, _count - count);
        _count -= count;
    }

    /// <summary>Makes the writes since the last record durable, then records them with the new tail and offset.</summary>
    private async Task RecordAsync(long offset, CancellationToken cancellationToken)
    {
        UploadTailSegment? tail = null;
        if (_wroteSinceRecord)
        {
            await _session.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (_count > 0) tail = new UploadTailSegment(_written, _pending.AsSpan(0, _count).ToArray());
        }
        else if (_count > _recordedTail)
        {
            tail = new UploadTailSegment(_written + _recordedTail, _pending.AsSpan(_recordedTail, _count - _recordedTail).ToArray());
        }
        else if (offset == _recordedOffset && _expires is null)
        {
            return;
        }
        var append = new UploadAppendRecord(offset, [.. _unconfirmed], _session.ResumeState, _wroteSinceRecord, tail, _expires);
        await _service.Retry.ExecuteAsync(async ct => await _service.Store.RecordAppendAsync(_lease, _row.Id, append, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        _unconfirmed.Clear();
        _wroteSinceRecord = false;
        _recordedTail = _count;
        _recordedOffset = offset;
        _writtenAtRecord = _written;
    }

    /// <summary>Writes the kept tail as the last write, commits, hashes every byte of the object (read back where this
    /// process did not see them all) and records the completion.</summary>
    /// <para><paramref name="declaredLength"/>: the upload's length, declared with the completion (an append that ends an
    /// upload of deferred length, its bytes not recorded before).</para>
    /// <para><paramref name="check"/>: <see cref="AppendOptions.CheckWhole"/>, run over the written bytes before the
    /// commit (or over the committed object, before the completion is recorded, where the store cannot read them back).</para>
    public async Task<Upload> CompleteAsync(CancellationToken cancellationToken, long? declaredLength = null,
        Func<Stream, CancellationToken, Task>? check = null)
    {
        var hashes = _hashes;
        _hashes = null;
        try
        {
            if (hashes is null && await _session.OpenWrittenAsync(cancellationToken).ConfigureAwait(false) is { } written)
            {
                await using (written.ConfigureAwait(false))
                    hashes = await ReadBackAsync(written, cancellationToken).ConfigureAwait(false);
                hashes.Append(_pending.AsSpan(0, _count));
            }
            while (_count > _writeSize) await WriteFrontAsync(_writeSize, final: false, cancellationToken).ConfigureAwait(false);
            if (_count > 0 || _session.Length == 0) await WriteFrontAsync(_count, final: true, cancellationToken).ConfigureAwait(false);
            if (check is not null && await _session.OpenWrittenAsync(cancellationToken).ConfigureAwait(false) is { } whole)
            {
                await using (whole.ConfigureAwait(false))
                    await check(whole, cancellationToken).ConfigureAwait(false);
                check = null;
            }
            // Always a durable commit (the local disk: one fsync of the file, one of its folder after the rename): the
            // completion is reported as kept, and it may run on a session reopened after the appends that flushed the
            // bytes (a later request, another process), which never synced its folder, so a plain commit would leave
            // the rename to chance at a power loss.
            var info = await _service.Retry.ExecuteAsync(async ct => await _session.CommitDurablyAsync(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            if (check is not null)
            {
                try
                {
                    await using var committed = await _destination.Storage.OpenReadAsync(_destination.Path, new ReadOptions(0, info.Version), cancellationToken).ConfigureAwait(false);
                    await check(committed, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    if (_destination.Storage is IObjectRemover remover)
                        await remover.RemoveAsync(_destination.Path, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
            }
            if (hashes is null)
            {
                // The store cannot read back an unfinished upload (S3): the object is read once it is whole.
                await using var stream = await _destination.Storage.OpenReadAsync(_destination.Path, new ReadOptions(0, info.Version), cancellationToken).ConfigureAwait(false);
                hashes = new RunningHashes(_lease.Epoch, _service.Options.Md5);
                await HashAsync(stream, hashes, null, cancellationToken).ConfigureAwait(false);
                if (hashes.Position != _written)
                    throw new LoadPipeException(ErrorKind.Integrity, $"upload {_row.Id}: {_destination} holds {hashes.Position} bytes after the commit, not {_written}");
            }
            var (sha256, md5) = hashes.Current();
            await _service.Retry.ExecuteAsync(async ct =>
                await _service.Store.CompleteUploadAsync(_lease, _row.Id, new TransferCompletion(_written, md5, sha256), declaredLength, ct).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            var length = _row.Length ?? declaredLength;
            return _row.ToUpload() with { Length = length, Offset = length ?? _row.Offset, Status = UploadStatus.Completed, Sha256 = sha256, Md5 = md5 };
        }
        finally
        {
            hashes?.Dispose();
        }
    }

    /// <summary>Hashes the destination's confirmed bytes, checking each confirmed chunk against its recorded XXH3: a
    /// partial file damaged since is found here, not committed.</summary>
    private async Task<RunningHashes> ReadBackAsync(Stream written, CancellationToken cancellationToken)
    {
        var chunks = await _service.Manifest.GetChunksAsync(_lease.Id, cancellationToken).ConfigureAwait(false);
        var hashes = new RunningHashes(_lease.Epoch, _service.Options.Md5);
        try
        {
            await HashAsync(written, hashes, chunks, cancellationToken).ConfigureAwait(false);
            if (hashes.Position != _written)
                throw new LoadPipeException(ErrorKind.ResumeMismatch, $"upload {_row.Id}: {_destination} holds {hashes.Position} confirmed bytes, not {_written}");
            return hashes;
        }
        catch
        {
            hashes.Dispose();
            throw;
        }
    }

    private static async Task HashAsync(Stream stream, RunningHashes hashes, IReadOnlyList<ChunkRecord>? chunks, CancellationToken cancellationToken)
    {
        var buffer = ChunkPool.Rent(1 << 20);
        var verifier = chunks is null ? null : new ConfirmedChunkVerifier(chunks, mismatch: (chunk, index) =>
            new ResumeMismatchException($"bytes {chunk.Offset}-{chunk.End - 1} at the destination do not match what was confirmed", index));
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(0, 1 << 20), cancellationToken).ConfigureAwait(false);
                if (n == 0) break;
                verifier?.Append(buffer.AsSpan(0, n));
                hashes.Append(buffer.AsSpan(0, n));
            }
        }
        finally
        {
            ChunkPool.Return(buffer);
        }
    }

    /// <summary>Drops what the session wrote (the partial object), for an append whose completion failed before its record.</summary>
    public async Task AbortAsync()
    {
        try
        {
            await _session.AbortAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (LoadPipeException)
        {
            // Left for the store's own clean-up: nothing in the manifest points at it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        ChunkPool.Return(_pending);
        if (_input is not null) ChunkPool.Return(_input);
        _hashes?.Dispose();
        _hashes = null;
        await _session.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>What an append kept: the upload after it, the body's read failure to rethrow (the client went away), and
/// whether the body went past the limit.</summary>
internal sealed record AppendOutcome(Upload Upload, ExceptionDispatchInfo? Failure, bool TooLarge);
