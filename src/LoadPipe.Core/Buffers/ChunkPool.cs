using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LoadPipe.Core.Buffers;

/// <summary>
/// The transfer pipeline's chunk buffers (8 MiB by default), pooled. Buffers of 2 MiB and more are allocated on the
/// pinned heap without zeroing and, on Linux, advised into transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>)
/// before anything touches them: a 1 GiB copy otherwise takes ~8,000 page faults just to bring its four or five chunk
/// buffers in, 14 µs each on this kind of virtual machine. Smaller ones come from <see cref="ArrayPool{T}.Shared"/>.
/// Lengths are powers of two, so a buffer returned to either pool is accepted by both. The pool keeps at most
/// <see cref="KeptPerSize"/> buffers of each size; others are left to the garbage collector.
/// </summary>
internal static partial class ChunkPool
{
    private const int HugePage = 2 << 20;
    private const int MadvHugePage = 14;
    private static readonly int KeptPerSize = 4 * Math.Max(2, Environment.ProcessorCount);
    private static readonly ConcurrentDictionary<int, ConcurrentQueue<byte[]>> Kept = new();
    private static bool _advise = OperatingSystem.IsLinux();

    /// <summary>A buffer of at least <paramref name="minimumLength"/> bytes; its content is undefined.</summary>
    public static byte[] Rent(int minimumLength)
    {
        if (minimumLength < HugePage) return ArrayPool<byte>.Shared.Rent(minimumLength);
        var length = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)minimumLength), Array.MaxLength);
        if (Kept.TryGetValue(length, out var queue) && queue.TryDequeue(out var kept)) return kept;
        var buffer = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        if (_advise) Advise(buffer);
        return buffer;
    }

    public static void Return(byte[] buffer)
    {
        if (buffer.Length < HugePage)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        var queue = Kept.GetOrAdd(buffer.Length, static _ => new ConcurrentQueue<byte[]>());
        if (queue.Count < KeptPerSize) queue.Enqueue(buffer);
    }

    /// <summary>Asks for huge pages for the 2 MiB-aligned part of a pinned buffer that nothing has touched yet. A kernel
    /// without transparent huge pages refuses (EINVAL), and the buffer stays on small pages; later buffers are not asked for.</summary>
    private static unsafe void Advise(byte[] buffer)
    {
        var start = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        var first = (start + HugePage - 1) & ~(nuint)(HugePage - 1);
        var end = (start + (nuint)buffer.Length) & ~(nuint)(HugePage - 1);
        if (end <= first) return;
        try
        {
            if (MAdvise(first, end - first, MadvHugePage) != 0) _advise = false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _advise = false;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(nuint address, nuint length, int advice);
}
