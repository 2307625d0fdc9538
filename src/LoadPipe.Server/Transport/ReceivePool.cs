using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace LoadPipe.Server.Transport;

/// <summary>
/// The memory Kestrel's socket transport receives into, in blocks of <see cref="ReceivePool.BlockSize"/> instead of its own 4 KiB:
/// a socket read fills at most the block the pipe has open, so with 4 KiB blocks a 16 MiB upload cost ~8,000 recv
/// calls (2 KiB on average) and as many wake-ups of the reader; with 256 KiB blocks a 4 MiB PATCH takes ~16-40. Measured on
/// the bare-Kestrel ceiling of bench/tus.sh: 1.9-2.3 CPU s per GiB received with the default pool, 0.8-0.95 with 64 KiB
/// blocks, 0.72 with 256 KiB (docs/benchmarks.md, tus). A connection receiving a body holds about Kestrel's request
/// buffer (1 MiB) plus one block; idle connections hold no block: Kestrel waits for data before it asks for one.
/// <para>Blocks are pinned arrays (the socket reads into them without pinning each time), kept for reuse up to
/// <see cref="ReceivePool.MaxPooled"/>; a block returned beyond that is left to the GC, so the pool never holds more than what the
/// busiest moment had in flight, capped.</para>
/// </summary>
internal sealed class ReceivePoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new ReceivePool();
}

internal sealed class ReceivePool : MemoryPool<byte>
{
    public const int BlockSize = 256 * 1024;

    /// <summary>Free blocks kept: 64 MiB at most, and only ever what was in flight at once: Kestrel's request buffer (1 MiB per
    /// connection receiving a body) bounds that. A block dropped here lives on the pinned heap until a full GC.</summary>
    public const int MaxPooled = 256;

    private readonly ConcurrentQueue<byte[]> _free = new();
    private int _pooled;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryDequeue(out var block)) Interlocked.Decrement(ref _pooled);
        else block = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        return new Lease(this, block);
    }

    private void Return(byte[] block)
    {
        if (Interlocked.Increment(ref _pooled) > MaxPooled)
        {
            Interlocked.Decrement(ref _pooled);
            return;
        }
        _free.Enqueue(block);
    }

    protected override void Dispose(bool disposing) => _free.Clear();

    private sealed class Lease(ReceivePool pool, byte[] block) : IMemoryOwner<byte>
    {
        private byte[]? _block = block;

        public Memory<byte> Memory => _block ?? throw new ObjectDisposedException(nameof(ReceivePool));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _block, null) is { } returned) pool.Return(returned);
        }
    }
}
