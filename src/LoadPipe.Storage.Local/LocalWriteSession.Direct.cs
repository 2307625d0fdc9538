using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LoadPipe.Storage.Local;

/// <summary>
/// Unbuffered writes (<see cref="LoadPipe.Core.Storage.WriteRequest.Unbuffered"/>, the push entry): the 4 KiB-aligned
/// middle of each write goes through a second descriptor of the partial file opened with O_DIRECT, so the kernel
/// neither copies it into the page cache nor writes it back later; the unaligned head and end of a write go through the
/// page cache as before. The bytes pass through a pinned, aligned bounce buffer (O_DIRECT wants the memory aligned too)
/// of 1 MiB, the push entry's write: one direct write per write. Measured with bench/tus-cpu.sh (docs/benchmarks.md,
/// tus), in runs paired with the build before it: `lp serve`'s CPU per uploaded GiB fell by 0.28-0.75 s, its system
/// time by about a third, while the bounce copy added ~0.1 s of user time; in 256 KiB direct writes it did not fall at
/// all, each write being its own I/O submission and wait. Durability is unchanged: <see cref="FlushAsync"/>
/// still fsyncs (the file's size and the disk's own cache), and the lock stays on the first descriptor, which is closed
/// after this one. Where the file system refuses O_DIRECT (at open or at the first write), the session writes through
/// the page cache.
/// </summary>
internal sealed partial class LocalWriteSession
{
    private const int DirectAlignment = 4096;
    private const int BounceSize = 1 << 20;
    private const int EINVAL = 22;
    private const int MaxFreeBounces = 32;
    private static readonly ConcurrentQueue<byte[]> FreeBounces = new();
    private SafeFileHandle? _direct;

    /// <summary>A write-only O_DIRECT descriptor of the partial file, or null where there is none to be had.</summary>
    private static SafeFileHandle? OpenDirect(string partial)
    {
        if (!OperatingSystem.IsLinux() || DirectFlag() is not { } direct) return null;
        try
        {
            var fd = Open(partial, OWriteOnly | OCloseOnExec | direct);
            return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private const int OWriteOnly = 1, OCloseOnExec = 0x80000;

    /// <summary>O_DIRECT's value differs between architectures (040000 on x86, 0200000 on ARM).</summary>
    private static int? DirectFlag() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>: through the page cache in slices, or, when
    /// the session writes unbuffered, its aligned middle around it.</summary>
    private void WriteAt(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset, CancellationToken cancellationToken)
    {
        if (_direct is null)
        {
            WriteCached(handle, data, offset, cancellationToken);
            return;
        }
        var head = (int)Math.Min(data.Length, (DirectAlignment - offset % DirectAlignment) % DirectAlignment);
        WriteCached(handle, data[..head], offset, cancellationToken);
        var middle = (data.Length - head) / DirectAlignment * DirectAlignment;
        if (middle > 0 && !WriteDirect(data.Slice(head, middle), offset + head, cancellationToken))
            WriteCached(handle, data.Slice(head, middle), offset + head, cancellationToken);
        WriteCached(handle, data[(head + middle)..], offset + head + middle, cancellationToken);
    }

    /// <summary>In slices: one 8 MiB write into the page cache costs this VM's kernel 5-10x the system time of the
    /// same bytes in 256 KiB writes (measured: 2.5-2.8 s against 0.2 s per GiB), whatever the chunk size.</summary>
    private static void WriteCached(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset, CancellationToken cancellationToken)
    {
        for (var done = 0; done < data.Length; done += WriteSlice)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RandomAccess.Write(handle, data.Slice(done, Math.Min(WriteSlice, data.Length - done)), offset + done);
        }
    }

    /// <summary>Aligned bytes at an aligned offset through the O_DIRECT descriptor; false (and the descriptor closed)
    /// when the file system refuses it, for the caller to write them through the page cache instead.</summary>
    private bool WriteDirect(ReadOnlySpan<byte> data, long offset, CancellationToken cancellationToken)
    {
        var pinned = FreeBounces.TryDequeue(out var free) ? free : GC.AllocateUninitializedArray<byte>(BounceSize + DirectAlignment, pinned: true);
        try
        {
            var bounce = AlignedPart(pinned);
            for (var done = 0; done < data.Length; done += BounceSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = Math.Min(BounceSize, data.Length - done);
                data.Slice(done, n).CopyTo(bounce);
                RandomAccess.Write(_direct!, bounce[..n], offset + done);
            }
            return true;
        }
        catch (IOException e) when ((e.HResult & 0xFFFF) == EINVAL)
        {
            // Accepted at open, refused at write (some file systems): the page cache it is, for the rest of the session.
            _direct!.Dispose();
            _direct = null;
            return false;
        }
        finally
        {
            if (FreeBounces.Count < MaxFreeBounces) FreeBounces.Enqueue(pinned);
        }
    }

    /// <summary>The <see cref="BounceSize"/> bytes of a pinned array that start on an aligned address (the pinned heap
    /// never moves them).</summary>
    private static Span<byte> AlignedPart(byte[] pinned)
    {
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(pinned, 0).ToInt64();
        var skip = (int)((DirectAlignment - address % DirectAlignment) % DirectAlignment);
        return pinned.AsSpan(skip, BounceSize);
    }

    /// <summary>Closes the O_DIRECT descriptor, before the one that holds the lock.</summary>
    private void CloseDirect()
    {
        _direct?.Dispose();
        _direct = null;
    }
}
