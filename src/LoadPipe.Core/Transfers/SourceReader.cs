using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using Polly;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// Reads a source from an offset to its end, surviving faults: a read that fails is retried by reopening the
/// source at the current offset (when it supports ranges) with the version it started with, so a changed source
/// is detected instead of spliced. Applies the bandwidth limit and counts bytes.
/// </summary>
internal sealed class SourceReader : IAsyncDisposable
{
    // Large reads mean fewer wake-ups per GiB (an HTTP body read waits for as much, see the HTTP storage's
    // BatchedReceiveStream); under a bandwidth limit, smaller ones keep each burst short.
    private const int MaxReadSize = 4 << 20;
    private const int MaxLimitedReadSize = 1 << 20;
    private readonly IStorage _storage;
    private readonly string _path;
    private readonly string? _version;
    private readonly bool _ranged;
    private readonly ResiliencePipeline _retry;
    private readonly BandwidthLimiter? _limiter;
    private readonly int _maxRead;
    private Stream? _stream;

    /// <param name="features">What <paramref name="storage"/> offers (<see cref="StorageFeatures.Of"/>), as the caller took it.</param>
    public SourceReader(IStorage storage, StorageFeatures features, string path, string? version, long offset, ResiliencePipeline retry, BandwidthLimiter? limiter)
    {
        _storage = storage;
        _path = path;
        _version = version;
        _ranged = features.RangedRead;
        _retry = retry;
        _limiter = limiter;
        _maxRead = limiter is null ? MaxReadSize : MaxLimitedReadSize;
        Position = offset;
        if (offset > 0 && !_ranged) throw new InvalidOperationException("offset on a storage without ranged reads");
    }

    public long Position { get; private set; }

    /// <summary>Fills <paramref name="buffer"/> unless the source ends first; returns the bytes read (0 at the end).</summary>
    public async Task<int> ReadBlockAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await ReadAsync(buffer[total..Math.Min(buffer.Length, total + _maxRead)], cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    public async Task<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length > _maxRead) buffer = buffer[.._maxRead];
        var n = await _retry.ExecuteAsync(async ct =>
        {
            var canReopen = _ranged || Position == 0;
            if (_stream is null)
            {
                if (!canReopen)
                    throw new LoadPipeException(ErrorKind.Permanent, $"{_storage.Description}: the connection failed mid-file and the source cannot resume a read (no ranges)");
                _stream = await _storage.OpenReadAsync(_path, new ReadOptions(Position, _version), ct).ConfigureAwait(false);
            }
            try
            {
                return await _stream.ReadAsync(buffer, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
                _stream = null;
                if (!canReopen) throw new LoadPipeException(ErrorKind.Permanent, $"{_storage.Description}: read failed mid-file and the source cannot resume a read: {e.Message}", e);
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
        Position += n;
        // Charged for what was read, after the read: the next read waits if this one ran ahead of the rate.
        if (_limiter is not null) await _limiter.WaitAsync(n, cancellationToken).ConfigureAwait(false);
        return n;
    }

    /// <summary>Moves past <paramref name="count"/> bytes without reading them (they came from elsewhere, e.g. the cache).</summary>
    public async ValueTask SkipAsync(long count)
    {
        if (!_ranged) throw new InvalidOperationException("skip on a storage without ranged reads");
        if (_stream is not null) await _stream.DisposeAsync().ConfigureAwait(false);
        _stream = null;
        Position += count;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null) await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
