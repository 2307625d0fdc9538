using System.Net.Sockets;

namespace LoadPipe.Storage.Http;

/// <summary>
/// A TCP connection whose large reads wake up once a batch of bytes has arrived rather than at the first segment
/// (Linux <c>SO_RCVLOWAT</c>, honoured by epoll for TCP). A .NET socket read that finds nothing waiting costs an
/// epoll wake-up and a hop to a thread-pool thread; on a fast link a 1 MiB body read returns after ~100 KB, so a
/// GiB costs ~10,000 of them (2.4 s of CPU in a bare HttpClient download on loopback, 1.0 s with batches of
/// 1 MiB, 0.7 s with 4 MiB; curl: 0.9 s).
/// <para>A read of at least <see cref="BatchFrom"/> bytes asks the kernel to wait for the whole read, up to
/// <see cref="MaxBatch"/>; smaller reads (headers, TLS records, the pool's liveness checks) wait for one byte, as
/// usual. SocketsHttpHandler never asks for more body bytes than remain, so a batch can always be completed by
/// the response; still, a read left waiting <see cref="MaxWait"/> lowers the mark to one byte, so a slow or
/// stalling server delays a read by at most that, and idle timeouts see the first byte as before.</para>
/// </summary>
internal sealed class BatchedReceiveStream : NetworkStream
{
    /// <summary>Reads smaller than this wait for one byte.</summary>
    public const int BatchFrom = 64 * 1024;

    /// <summary>The largest batch waited for (Linux also caps it at half the largest receive buffer, tcp_rmem).</summary>
    public const int MaxBatch = 4 << 20;

    /// <summary>How long a read waits for its batch before it takes what has arrived.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(20);

    private readonly Lock _gate = new();
    private readonly Timer _watchdog;
    private int _mark = 1;
    private volatile bool _waiting;
    private bool _disposed;

    public BatchedReceiveStream(Socket socket) : base(socket, ownsSocket: true)
    {
        _watchdog = new Timer(static state => ((BatchedReceiveStream)state!).StopWaitingForBatch(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Connects to <paramref name="endpoint"/> the way SocketsHttpHandler does by default (every address
    /// in turn, Nagle off) and returns the connection.</summary>
    public static async ValueTask<Stream> ConnectAsync(System.Net.DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return new BatchedReceiveStream(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        MarkFor(buffer.Length);
        var read = base.ReadAsync(buffer, cancellationToken);
        return read.IsCompleted || _mark == 1 ? read : WaitForBatchAsync(read);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        // A blocking read gets no watchdog: it waits for one byte.
        MarkFor(0);
        return base.Read(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    private async ValueTask<int> WaitForBatchAsync(ValueTask<int> read)
    {
        _waiting = true;
        _watchdog.Change(MaxWait, Timeout.InfiniteTimeSpan);
        try
        {
            return await read.ConfigureAwait(false);
        }
        finally
        {
            _waiting = false;
        }
    }

    private void MarkFor(int length) => SetMark(length < BatchFrom ? 1 : Math.Min(length, MaxBatch));

    /// <summary>The watchdog: a read still waiting takes what has arrived (setting the mark wakes it if any has).</summary>
    private void StopWaitingForBatch()
    {
        if (_waiting) SetMark(1);
    }

    private void SetMark(int mark)
    {
        lock (_gate)
        {
            if (mark == _mark || _disposed) return;
            try
            {
                Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveLowWater, mark);
                _mark = mark;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The connection is closing; the read in progress reports it.
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate) _disposed = true;
            _watchdog.Dispose();
        }
        base.Dispose(disposing);
    }
}
