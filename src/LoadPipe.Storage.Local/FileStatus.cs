using System.Runtime.InteropServices;

namespace LoadPipe.Storage.Local;

/// <summary>What kind of thing a path names.</summary>
internal enum FileKind { Missing, Regular, Directory, Link, Pipe, Socket, Device }

/// <summary>
/// One stat of a local path: what .NET's FileInfo gives, plus the change time, device and inode, which it does not.
/// The change time is what makes a file's identity strong: `touch -r` can put an old modified time back, but every
/// write (and every metadata change) sets the change time to now, and nothing but the kernel can set it. Read with
/// Linux's statx (one system call, the same record layout on every architecture); elsewhere, or where statx is not
/// allowed (an old seccomp profile), from FileInfo without the three (<see cref="HasChangeTime"/> false).
/// </summary>
internal readonly partial record struct FileStatus(FileKind Kind, long Size, DateTime ModifiedUtc, long ChangeTicks, ulong Device, ulong Inode, bool HasChangeTime)
{
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int EPERM = 1, ENOENT = 2, ENOTDIR = 20, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40;
    private const int StatxSize = 256;
    // 0: not tried yet, 1: statx works, -1: not available (not Linux, no such call, refused).
    private static int s_statx = OperatingSystem.IsLinux() ? 0 : -1;

    public static FileStatus Missing => default;

    /// <summary>Of <paramref name="path"/>; <paramref name="followLinks"/>: of what a link leads to (a link to nothing is
    /// <see cref="FileKind.Missing"/>), else of the link itself.</summary>
    public static FileStatus Of(string path, bool followLinks = true)
    {
        if (Volatile.Read(ref s_statx) >= 0)
        {
            Span<byte> buffer = stackalloc byte[StatxSize];
            if (TryStatx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, buffer, out var missing)) return Parse(buffer);
            if (missing) return Missing;
        }
        return Fallback(path, followLinks);
    }

    /// <summary>Of the file <paramref name="handle"/> has open: the file actually read, whatever its path names now.</summary>
    public static FileStatus Of(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        if (Volatile.Read(ref s_statx) >= 0)
        {
            Span<byte> buffer = stackalloc byte[StatxSize];
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                if (TryStatx((int)handle.DangerousGetHandle(), "", AtEmptyPath, buffer, out _)) return Parse(buffer);
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
        return Fallback(path, followLinks: true) with { Size = RandomAccess.GetLength(handle) };
    }

    /// <summary>Of the open file <paramref name="fd"/> (a descriptor this process opened itself); null where statx is
    /// not available, for the caller to fall back to a path's.</summary>
    public static FileStatus? OfDescriptor(int fd)
    {
        if (Volatile.Read(ref s_statx) < 0) return null;
        Span<byte> buffer = stackalloc byte[StatxSize];
        return TryStatx(fd, "", AtEmptyPath, buffer, out _) ? Parse(buffer) : null;
    }

    private static bool TryStatx(int dirFd, string path, int flags, Span<byte> buffer, out bool missing)
    {
        missing = false;
        try
        {
            if (Statx(dirFd, path, flags, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) == 0)
            {
                Volatile.Write(ref s_statx, 1);
                return true;
            }
            var errno = Marshal.GetLastPInvokeError();
            missing = errno is ENOENT or ENOTDIR or ELOOP or ENAMETOOLONG;
            // No such call, or a sandbox that refuses it: never asked again. Other errors (no permission) are the
            // path's: FileInfo says what it can of it.
            if (errno is ENOSYS || (errno is EPERM && Volatile.Read(ref s_statx) == 0)) Volatile.Write(ref s_statx, -1);
            return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref s_statx, -1);
            return false;
        }
    }

    /// <summary>struct statx (linux/stat.h), native byte order: mode at 28, inode 32, size 40, ctime 96, mtime 112, device 136.</summary>
    private static FileStatus Parse(ReadOnlySpan<byte> s)
    {
        var mode = MemoryMarshal.Read<ushort>(s[28..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Link,
            0x1000 => FileKind.Pipe,
            0xC000 => FileKind.Socket,
            _ => FileKind.Device,
        };
        return new FileStatus(kind, (long)Read64(s[40..]), new DateTime(Ticks(s[112..]), DateTimeKind.Utc), Ticks(s[96..]),
            ((ulong)Read32(s[136..]) << 32) | Read32(s[140..]), Read64(s[32..]), HasChangeTime: true);

        // Whole seconds since 1970 and nanoseconds, as .NET turns them into a time: the modified time is then the
        // one FileInfo gives, so versions recorded before this stat compare equal.
        static long Ticks(ReadOnlySpan<byte> t) =>
            DateTime.UnixEpoch.Ticks + (long)Read64(t) * TimeSpan.TicksPerSecond + Read32(t[8..]) / 100;
        static ulong Read64(ReadOnlySpan<byte> b) => MemoryMarshal.Read<ulong>(b);
        static uint Read32(ReadOnlySpan<byte> b) => MemoryMarshal.Read<uint>(b);
    }

    private static FileStatus Fallback(string path, bool followLinks)
    {
        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists) info = new DirectoryInfo(path);
        if (!info.Exists) return info.LinkTarget is null ? Missing : new FileStatus(FileKind.Link, 0, info.LastWriteTimeUtc, 0, 0, 0, false);
        if (info.LinkTarget is not null)
        {
            if (!followLinks) return new FileStatus(FileKind.Link, 0, info.LastWriteTimeUtc, 0, 0, 0, false);
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !target.Exists) return Missing;
            info = target;
        }
        return info is FileInfo file
            ? new FileStatus(FileKind.Regular, file.Length, file.LastWriteTimeUtc, 0, 0, 0, false)
            : new FileStatus(FileKind.Directory, 0, info.LastWriteTimeUtc, 0, 0, 0, false);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, ref byte buffer);
}

/// <summary>A path with every link in it resolved (realpath(3)): where a root's paths really lead.</summary>
internal static partial class RealPath
{
    /// <summary>The resolved path; <paramref name="path"/> as it is when it cannot be resolved (nothing there).</summary>
    public static string Of(string path)
    {
        try
        {
            var resolved = Resolve(path, 0);
            if (resolved == 0) return path;
            try { return Marshal.PtrToStringUTF8(resolved) ?? path; }
            finally { unsafe { NativeMemory.Free((void*)resolved); } }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Only the last link is followed here: a link among the folders above it is not seen.
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Resolve(string path, nint resolved);
}
