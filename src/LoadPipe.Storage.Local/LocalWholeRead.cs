using System.Runtime.InteropServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>
/// The read of a small file whole (<see cref="IWholeReader"/>), in four system calls on Linux: open, pread, one statx
/// of the open file, close. What <see cref="LocalStorage.OpenReadAsync"/> adds around it, and this leaves out: the stat
/// of the path before the open (a named pipe would block the open; here the open does not wait, O_NONBLOCK, and
/// anything but a regular file is refused after it), .NET's FileStream (its own fstat, its shared flock, a read-ahead
/// hint, seeks), and the stat of the path after the read. The one statx after the read is what catches a change: the
/// caller compares its version (modified and change time, size, inode) with the one it listed, and the change time only
/// ever moves forward, so any write since the listing, during the read included, shows.
/// </summary>
internal static partial class LocalWholeRead
{
    private const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000;
    private const int EINTR = 4, ENOENT = 2, ENOTDIR = 20, EACCES = 13, EPERM = 1, ELOOP = 40, ENAMETOOLONG = 36;

    /// <summary>True where the four-call read runs (64-bit Linux); elsewhere <see cref="LocalStorage"/> reads through a
    /// handle.</summary>
    public static bool Available => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>Reads <paramref name="full"/> into <paramref name="buffer"/>; the status after the read, of the open file.
    /// A short read ends it: on a regular file it means the end (a file that was longer is seen by its size).</summary>
    public static (int Length, FileStatus After) Read(string full, Span<byte> buffer)
    {
        int fd;
        while ((fd = Open(full, ORdOnly | ONonBlock | OCloExec)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        if (fd < 0) throw Failure(full, Marshal.GetLastPInvokeError());
        try
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var n = PRead(fd, ref buffer[total], buffer.Length - total, total);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    // A pipe, a device that would block, a folder: found by the status below, or said here.
                    if (FileStatus.OfDescriptor(fd) is { } what && what.Kind != FileKind.Regular) throw NotRegular(full, what.Kind);
                    throw new LoadPipeException(ErrorKind.Permanent, $"{full}: read failed (errno {errno})");
                }
                total += (int)n;
                if (n == 0 || total < buffer.Length) break;
            }
            var after = FileStatus.OfDescriptor(fd) ?? throw new LoadPipeException(ErrorKind.Permanent, $"{full}: cannot stat the open file");
            if (after.Kind != FileKind.Regular) throw NotRegular(full, after.Kind);
            return (total, after);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static LoadPipeException NotRegular(string full, FileKind kind) =>
        new(ErrorKind.Usage, $"{full} is {LocalStorage.SpecialKind(kind) ?? "a folder"}, not a regular file: it is not read");

    private static LoadPipeException Failure(string full, int errno) => errno switch
    {
        ENOENT or ENOTDIR or ELOOP or ENAMETOOLONG => new LoadPipeException(ErrorKind.NotFound, $"{full}: no such file"),
        EACCES or EPERM => new LoadPipeException(ErrorKind.Auth, $"{full}: permission denied"),
        _ => new LoadPipeException(ErrorKind.Permanent, $"{full}: open failed (errno {errno})"),
    };

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint PRead(int fd, ref byte buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
