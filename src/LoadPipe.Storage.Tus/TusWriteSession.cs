using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// One tus upload as the engine writes it: sequential writes from offset 0, each one PATCH (with
/// <c>Upload-Checksum</c> when the server offers the checksum extension) that returns once the server's 204 says it
/// holds the bytes. The upload URL is in <see cref="ResumeState"/> from the start, or, where the server offers
/// creation-with-upload, from the first write on: that write is the POST's body (a <see cref="TusCreation"/> waits for it).
/// A POST that fails may have made an upload whose URL never arrived: the retry makes another, and the server expires
/// the first.
/// <para>A tus server cannot drop bytes it holds. What it holds beyond <see cref="Length"/> (a PATCH sent but not
/// confirmed before a crash, or the part of one a server keeps when the client dies mid-body, as "The Server SHOULD
/// always attempt to store as much of the received data as possible" asks) is the same bytes again, as the engine
/// only continues an unchanged source through the same stages: that part of the next writes is skipped, and only the
/// rest is sent. After a failed PATCH the next one first asks the server where the upload stands (HEAD), the
/// recovery the core protocol describes, so a retry sends only what is missing. An upload the server no longer
/// knows, or that holds fewer bytes than were confirmed, throws <see cref="ResumeMismatchException"/>: the engine
/// starts the file again from zero.</para>
/// <para>The commit checks that the server answered the final PATCH (or a HEAD) with the upload's whole length as its
/// offset: a tus upload is complete exactly then, and nothing else is done to it.</para>
/// </summary>
internal sealed class TusWriteSession : IWriteSession
{
    private const int MaxStalls = 3;
    private readonly TusProtocol _protocol;
    private Uri? _upload;
    // The creation that waits for the first write (creation-with-upload); null once the upload exists.
    private TusCreation? _creation;
    private readonly string _path;
    private readonly string _what;
    private readonly string? _checksum;
    private readonly bool _terminates;
    private readonly ILogger _logger;
    private readonly TusFinishedUploads? _finished;
    // The upload's length at the server, -1 while it is deferred (then declared with the final PATCH).
    private long _total;
    // The bytes the server holds, as it last said: at least Length.
    private long _stored;
    // The last PATCH failed somewhere: the server may hold all of it, part of it or none.
    private bool _uncertain;
    private bool _completed;

    public TusWriteSession(TusProtocol protocol, TusResumeState state, TusServerInfo server, string what, ILogger logger,
        TusFinishedUploads? finished, long confirmedLength = 0, TusUploadStatus? status = null)
    {
        _protocol = protocol;
        _upload = new Uri(state.Upload);
        _path = state.Path;
        _what = what;
        _checksum = server.ChecksumAlgorithm;
        _terminates = server.Offers("termination");
        _logger = logger;
        _finished = finished;
        _total = status?.Length ?? state.Length;
        Length = confirmedLength;
        _stored = Math.Max(status?.Offset ?? 0, confirmedLength);
        ResumeState = state.ToJson();
        if (_stored > confirmedLength) _logger.SkippingHeldBytes(what, confirmedLength, _stored);
    }

    /// <summary>A session whose upload is created by its first write (or its commit, for an empty object).</summary>
    public TusWriteSession(TusProtocol protocol, TusCreation creation, string path, TusServerInfo server, string what, ILogger logger,
        TusFinishedUploads? finished)
    {
        _protocol = protocol;
        _creation = creation;
        _path = path;
        _what = what;
        _checksum = server.ChecksumAlgorithm;
        _terminates = server.Offers("termination");
        _logger = logger;
        _finished = finished;
        _total = creation.Length;
    }

    /// <summary>Null until the upload exists.</summary>
    public string? ResumeState { get; private set; }

    public int ChunkAlignment => 1;

    public long Length { get; private set; }

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(data, final: false, cancellationToken);

    /// <summary>The last bytes: with a deferred length, this PATCH declares it.</summary>
    public Task WriteFinalAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(data, final: true, cancellationToken);

    /// <summary>tus has no way to read an unfinished upload back: the engine regenerates the confirmed bytes from the
    /// source to rebuild its hashes.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

    /// <summary>Declares a deferred length if no final write did (an empty output), then checks that the server holds
    /// every byte: its offset, from the last PATCH's answer, is the upload's length and the length written. The
    /// finished upload is then recorded under its path, for a later <see cref="TusStorage.StatAsync"/>.</summary>
    public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_total < 0 || _uncertain || _creation is not null) await WriteCoreAsync(ReadOnlyMemory<byte>.Empty, final: true, cancellationToken).ConfigureAwait(false);
        if (_total != Length)
            throw new SourceChangedException($"{_what}: {Length} bytes were written, but the upload was created for {_total}");
        if (_stored != _total)
            throw new LoadPipeException(ErrorKind.Transient, $"{_what}: the server holds {_stored} of the upload's {_total} bytes");
        _completed = true;
        if (_finished is not null)
            await _finished.RememberAsync(new TusResumeState(_upload!.AbsoluteUri, _path, Length), cancellationToken).ConfigureAwait(false);
        return new ObjectInfo { Path = _path, Size = Length };
    }

    /// <summary>"Termination": DELETE, where the server offers it; else the unfinished upload stays until the server
    /// expires it. A finished upload is left alone.</summary>
    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (_completed || _upload is null) return;
        if (!_terminates)
        {
            _logger.CannotTerminate(_what);
            return;
        }
        await _protocol.DeleteAsync(_upload, _what, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task WriteCoreAsync(ReadOnlyMemory<byte> data, bool final, CancellationToken cancellationToken)
    {
        var offset = Length;
        var end = offset + data.Length;
        if (_total >= 0 && end > _total)
            throw new SourceChangedException($"{_what}: more bytes ({end}) than the {_total} the upload was created for");
        if (final && _total >= 0 && end != _total)
            throw new SourceChangedException($"{_what}: the output ended at {end} bytes, but the upload was created for {_total}");
        if (_creation is not null)
        {
            if (await CreateWithUploadAsync(data, final, end, cancellationToken).ConfigureAwait(false)) return;
        }
        else if (_uncertain)
        {
            await RereadOffsetAsync(cancellationToken).ConfigureAwait(false);
            _uncertain = false;
        }
        var stalls = 0;
        while (true)
        {
            var from = (int)Math.Clamp(_stored - offset, 0, data.Length);
            long? declare = final && _total < 0 ? end : null;
            if (from == data.Length && declare is null) break; // the server holds all of it already
            var before = _stored;
            _uncertain = true;
            var sent = data[from..];
            var result = await _protocol.PatchAsync(_upload!, offset + from, sent, declare,
                _checksum is null ? null : TusChecksum.Header(_checksum, sent.Span), _what, cancellationToken).ConfigureAwait(false);
            switch (result.Outcome)
            {
                case TusPatchOutcome.Gone:
                    throw new ResumeMismatchException($"{_what}: the server no longer knows the upload (expired or terminated)");
                case TusPatchOutcome.OffsetConflict:
                    // 409: our offset is not the server's, and nothing was changed; ask where it stands.
                    await RereadOffsetAsync(cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    if (result.Offset < offset + from || result.Offset > end)
                        throw new LoadPipeException(ErrorKind.Permanent,
                            $"{_what}: the server answered a PATCH of bytes {offset + from}-{end - 1} with the offset {result.Offset}");
                    _stored = result.Offset;
                    if (declare is not null) _total = end;
                    break;
            }
            _uncertain = false;
            if (_stored >= end && (!final || _stored == _total)) break;
            // A server may keep only part of a body: the rest goes again. One that keeps nothing more, try after try,
            // is failing.
            if (_stored <= before && ++stalls >= MaxStalls)
                throw new LoadPipeException(ErrorKind.Transient, $"{_what}: the server keeps answering that it holds {_stored} bytes; {end} were sent");
        }
        Length = end;
    }

    /// <summary>The first write as the creation's body: the upload's length is declared here when this write is the
    /// last one too (nothing deferred is left to declare). True when the server took all of it; else the rest goes
    /// in PATCH requests, as a short PATCH's rest does.</summary>
    private async Task<bool> CreateWithUploadAsync(ReadOnlyMemory<byte> data, bool final, long end, CancellationToken cancellationToken)
    {
        var creation = _creation!;
        var length = creation.Length >= 0 ? creation.Length : final ? end : -1;
        var (upload, stored) = await _protocol.CreateAsync(length, creation.Metadata, data,
            _checksum is null || data.IsEmpty ? null : TusChecksum.Header(_checksum, data.Span), _what, cancellationToken).ConfigureAwait(false);
        _upload = upload;
        _creation = null;
        _total = length;
        _stored = stored;
        ResumeState = new TusResumeState(upload.AbsoluteUri, _path, length).ToJson();
        _logger.UploadCreated(_what, length < 0 ? "a deferred length" : length.ToString(CultureInfo.InvariantCulture) + " bytes", _checksum ?? "none");
        if (_stored < end) return false;
        Length = end;
        return true;
    }

    /// <summary>HEAD: the offset the server holds, after a PATCH that failed or was refused. Fewer bytes than were
    /// confirmed, or no upload at all, cannot be continued.</summary>
    private async Task RereadOffsetAsync(CancellationToken cancellationToken)
    {
        var status = await _protocol.HeadAsync(_upload!, _what, cancellationToken).ConfigureAwait(false)
            ?? throw new ResumeMismatchException($"{_what}: the server no longer knows the upload (expired or terminated)");
        _logger.OffsetReread(_what, status.Offset);
        if (status.Offset < Length)
            throw new ResumeMismatchException($"{_what}: the server holds {status.Offset} bytes of the upload, fewer than the {Length} it acknowledged");
        if (status.Length >= 0)
        {
            if (_total >= 0 && status.Length != _total)
                throw new LoadPipeException(ErrorKind.Permanent, $"{_what}: the server says the upload's length is {status.Length}, not {_total}");
            _total = status.Length;
        }
        _stored = status.Offset;
    }
}

/// <summary>An upload to create with the first write (creation-with-upload): its length (-1: deferred) and metadata.</summary>
internal sealed record TusCreation(long Length, string? Metadata);
