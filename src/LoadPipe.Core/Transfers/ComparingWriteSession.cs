using System.Buffers;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Core.Transfers;

/// <summary>
/// A write session that writes nothing: it compares each write with the bytes the destination object already holds
/// at that offset. A transfer whose commit happened but was never recorded (killed right after S3's
/// CompleteMultipartUpload, or after the local rename) is finished this way by reading instead of sending: the
/// object is adopted only if it is exactly the output this transfer produces. A difference, a destination longer or
/// shorter than the output, or a destination that changes meanwhile is a <see cref="ResumeMismatchException"/>, and
/// the engine starts the file again. Reading starts at any offset: only for an <see cref="IRangedReader"/> store.
/// </summary>
internal sealed class ComparingWriteSession(IStorage storage, string path, ObjectInfo existing, long confirmedLength, string? resumeState)
    : IWriteSession
{
    private readonly long _confirmedLength = confirmedLength;
    private Stream? _stream;

    /// <summary>The interrupted session's state, unchanged: chunks confirmed while comparing are saved with it, and a
    /// run killed meanwhile finds the session gone again and compares again.</summary>
    public string? ResumeState => resumeState;

    public int ChunkAlignment => 1;

    public long Length { get; private set; } = confirmedLength;

    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (Length + data.Length > existing.Size)
            throw new ResumeMismatchException($"the destination holds {existing.Size} bytes, fewer than this transfer produces");
        _stream ??= await OpenAsync(Length, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(data.Length, 1 << 20));
        try
        {
            for (var done = 0; done < data.Length;)
            {
                var n = await ReadAsync(_stream, buffer.AsMemory(0, Math.Min(buffer.Length, data.Length - done)), cancellationToken).ConfigureAwait(false);
                if (n == 0) throw new ResumeMismatchException($"the destination ends at byte {Length + done}, before the output does");
                var differs = data.Span.Slice(done, n).CommonPrefixLength(buffer.AsSpan(0, n));
                if (differs < n)
                    throw new ResumeMismatchException($"the destination holds other bytes than this transfer produces (from byte {Length + done + differs})");
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        Length += data.Length;
    }

    /// <summary>The destination's first <c>confirmedLength</c> bytes: the engine checks them against the recorded chunks.</summary>
    public async Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) =>
        new Prefix(await OpenAsync(0, cancellationToken).ConfigureAwait(false), _confirmedLength);

    /// <summary>Nothing to commit: the object is there. It is adopted only if the output ended where it ends.</summary>
    public Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default) =>
        Length == existing.Size ? Task.FromResult(existing)
            : throw new ResumeMismatchException($"the destination holds {existing.Size} bytes, more than the {Length} this transfer produces");

    /// <summary>Nothing to drop: the object was not written by this session.</summary>
    public Task AbortAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null) await _stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Opens the object at <paramref name="offset"/>, pinned to the version that was looked at.</summary>
    private async Task<Stream> OpenAsync(long offset, CancellationToken cancellationToken)
    {
        try
        {
            return await storage.OpenReadAsync(path, new ReadOptions(offset, existing.Version), cancellationToken).ConfigureAwait(false);
        }
        catch (SourceChangedException e)
        {
            throw new ResumeMismatchException($"the destination changed while it was compared ({e.Message})");
        }
    }

    private static async Task<int> ReadAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }
        catch (SourceChangedException e)
        {
            throw new ResumeMismatchException($"the destination changed while it was compared ({e.Message})");
        }
    }

    /// <summary>At most the first <paramref name="limit"/> bytes of a stream.</summary>
    private sealed class Prefix(Stream inner, long limit) : Streams.ReadOnlyStream
    {
        private long _left = limit;

        public override int Read(Span<byte> buffer)
        {
            if (_left <= 0) return 0;
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left <= 0) return 0;
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
