using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LoadPipe.Storage.Local;

/// <summary>
/// Starts the kernel writing a file's dirty pages to disk without waiting for it (Linux sync_file_range with
/// SYNC_FILE_RANGE_WRITE). A local copy calls it after each chunk, so the disk works while the next chunks are
/// read and hashed and the one fsync at commit waits only for the tail, not for the whole file. Elsewhere, and on
/// file systems that refuse it, it does nothing: the fsync at commit still makes the file durable.
/// </summary>
internal static partial class Writeback
{
    private const uint SyncFileRangeWrite = 2;
    private static volatile bool _unavailable = !OperatingSystem.IsLinux();

    public static void Start(SafeFileHandle handle, long offset, long length)
    {
        if (_unavailable || length <= 0) return;
        try
        {
            if (SyncFileRange(handle, offset, length, SyncFileRangeWrite) != 0 && Marshal.GetLastPInvokeError() is 22 or 38 or 95)
                _unavailable = true; // EINVAL, ENOSYS, EOPNOTSUPP: this system or file system has no such call
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);
}
