using System.Runtime.InteropServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using Microsoft.Win32.SafeHandles;

namespace LoadPipe.Storage.Local;

/// <summary>Writes into the partial file at increasing offsets. Durability is needed only at commit, but one fsync of
/// a whole file there costs ~0.6 s per GiB on this kind of disk (a virtual disk flushes what the host holds): so while
/// chunks are written an fsync runs in the background whenever none is running and 8 MiB (a chunk) are unflushed, and
/// the one at commit waits only for the tail. A caller that flushes itself (the push entry, once per append) thus pays
/// one fsync per append, not one per write. A retried write simply overwrites the same offset.
/// <para>Once an fsync has made a range durable, the range is dropped from the page cache (drop-behind, as
/// <c>dd oflag=nocache</c> does): a large copy then holds in memory only what one fsync covers, instead of pushing
/// the machine's cache out with bytes nobody reads again. On this kind of virtual machine it is also what keeps a
/// large copy fast: memory the guest has left free for a few seconds is handed back to the host (free page
/// reporting), and writing into it cost 1.3-2.5 s of system time per GiB instead of 0.2 s, while a dropped range's
/// pages are taken again by the next writes at once (docs/benchmarks.md, "The slow state").</para></summary>
internal sealed partial class LocalWriteSession : IWriteSession
{
    private const int PosixFadvDontNeed = 4;
    private const int EPERM = 1, EINTR = 4, EIO = 5, EAGAIN = 11, EACCES = 13, EBUSY = 16, ENOSPC = 28, ETIMEDOUT = 110, EDQUOT = 122;
    private const int WriteSlice = 256 << 10;
    private readonly string _target;
    private readonly string _partial;
    private readonly WriteRequest _request;
    private SafeFileHandle? _handle;
    private Task _flush = Task.CompletedTask;
    // The start of the range no fsync has dropped from the page cache yet; only the flush in flight changes it.
    private long _dropped;
    // 64-bit only: there off_t, posix_fadvise's offset and length, is 64 bits wide, as declared below.
    private bool _dropBehind = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    private LocalWriteSession(string target, string partial, WriteRequest request, SafeFileHandle handle, long length, SafeFileHandle? direct)
    {
        _target = target;
        _partial = partial;
        _request = request;
        _handle = handle;
        _direct = direct;
        Length = length;
        _flushedTo = length;
        // Bytes confirmed before this session were flushed by an earlier one (the pull path never flushes and never
        // reads this): that flush made the partial file's name durable already.
        _partialNamed = length > 0;
    }

    /// <summary>Opens the partial file and takes its lock: one writer per partial file, whatever manifest each writer
    /// uses (see <see cref="TakeLock"/>). The file is truncated to <paramref name="keep"/> only once the lock is held: a
    /// file another process is writing is never cut. Throws <see cref="ErrorKind.Busy"/> when another writer holds it.</summary>
    public static LocalWriteSession Create(string target, string partial, WriteRequest request, long keep)
    {
        SafeFileHandle? handle = null;
        try
        {
            var folder = Path.GetDirectoryName(target)!;
            if (Directory.Exists(target))
                throw new LoadPipeException(ErrorKind.Permanent, $"{target} is a folder");
            Directory.CreateDirectory(folder);
            // Never FileMode.Create: it would truncate before the lock is taken.
            handle = File.OpenHandle(partial, keep == 0 ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.ReadWrite, ExclusiveShare, FileOptions.Asynchronous);
            TakeLock(handle, target);
            // Bytes after the last confirmed chunk may be half-written: they are not trusted.
            RandomAccess.SetLength(handle, keep);
            return new LocalWriteSession(target, partial, request, handle, keep, request.Unbuffered ? OpenDirect(partial) : null);
        }
        catch (UnauthorizedAccessException e)
        {
            handle?.Dispose();
            throw new LoadPipeException(ErrorKind.Auth, $"{target}: permission denied", e);
        }
        catch (IOException e)
        {
            handle?.Dispose();
            throw IsLockedByAnother(e) ? Busy(target, e) : Translate(e, target);
        }
        catch
        {
            handle?.Dispose();
            throw;
        }
    }

    /// <summary>On Unix, FileShare.None makes .NET take flock(LOCK_EX | LOCK_NB) at open (any other share takes
    /// LOCK_SH, which two writers can both hold). On Windows the share mode is the lock; Delete lets the commit rename
    /// the file while it is still open.</summary>
    internal static FileShare ExclusiveShare => OperatingSystem.IsWindows() ? FileShare.Read | FileShare.Delete : FileShare.None;

    /// <summary>An exclusive flock on the partial file, for as long as the handle is open: taken again explicitly because
    /// .NET's own can be switched off (DOTNET_SYSTEM_IO_DISABLEFILELOCKING). flock belongs to the open file, not the
    /// process, so two sessions of one process exclude each other too; the kernel drops it when the process dies,
    /// kill -9 included. On NFS, Linux turns it into a lock the server holds, so it also works across machines. A file
    /// system that cannot lock at all leaves only the manifest's destination lock.</summary>
    internal static void TakeLock(SafeFileHandle handle, string target)
    {
        if (OperatingSystem.IsWindows() || DotnetLocksAtOpen) return;
        try
        {
            if (Flock((int)handle.DangerousGetHandle(), LockExclusive | LockNonBlocking) == 0) return;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return;
        }
        if (Marshal.GetLastPInvokeError() == EWouldBlock) throw Busy(target, null);
    }

    /// <summary>True unless .NET's own lock at open was switched off (the same switch and variable .NET reads): it is
    /// then the lock, and taking it a second time would cost a system call per file for nothing.</summary>
    private static readonly bool DotnetLocksAtOpen =
        !(AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled) && disabled)
        && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is not ("1" or "true" or "True" or "TRUE");

    private const int LockExclusive = 2, LockNonBlocking = 4;
    private static readonly int EWouldBlock = OperatingSystem.IsLinux() ? EAGAIN : 35;
    private const int ErrorSharingViolation = 32;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    /// <summary>.NET's own lock at open found the file locked (EWOULDBLOCK), or Windows refused to share it.</summary>
    internal static bool IsLockedByAnother(IOException e) =>
        (e.HResult & 0xFFFF) == (OperatingSystem.IsWindows() ? ErrorSharingViolation : EWouldBlock);

    internal static LoadPipeException Busy(string target, Exception? inner) =>
        new(ErrorKind.Busy, $"destination busy: another lp process is writing {target} (it holds the lock on its partial file)", inner);

    public string? ResumeState => _partial;

    /// <summary>The partial file is named after the target (".NAME.lp-partial"): a new session opens the same one.</summary>
    public bool ResumeStateIsImplied => true;

    public int ChunkAlignment => 1;

    public long Length { get; private set; }

    /// <summary>Writes without an fsync: the commit makes the file durable once, and a resume reads the partial file
    /// back and checks each confirmed chunk (see <see cref="IWriteSession"/>). A kill -9 loses nothing written.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(LocalWriteSession));
        try
        {
            var offset = Length;
            await Task.Run(() => WriteAt(handle, data.Span, offset, cancellationToken), cancellationToken).ConfigureAwait(false);
            // The background fsync runs only once a flush's worth has piled up: a caller that flushes itself (the push
            // entry, per append) then pays one fsync per append instead of one per write.
            if (_flush.IsCompleted && offset + data.Length - _flushedTo >= BackgroundFlushAfter)
            {
                _flushedTo = offset + data.Length;
                _flush = FlushInBackground(handle, _flush, _flushedTo);
            }
        }
        catch (IOException e)
        {
            throw Translate(e, _target);
        }
        Length += data.Length;
    }

    /// <summary>An fsync of the partial file, after the one in flight; the first also fsyncs its folder, so that a file
    /// this session created is still there after a power loss. Only the push entry calls it (per append); the pull path
    /// keeps its one fsync at commit.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(LocalWriteSession));
        try
        {
            await _flush.ConfigureAwait(false);
            var end = Length;
            await Task.Run(() =>
            {
                RandomAccess.FlushToDisk(handle);
                DropCached(handle, end);
            }, CancellationToken.None).ConfigureAwait(false);
            _flushedTo = end;
        }
        catch (IOException e)
        {
            throw Translate(e, _target);
        }
        if (!_partialNamed)
        {
            await SyncFolderAsync(Path.GetDirectoryName(_partial)!).ConfigureAwait(false);
            _partialNamed = true;
        }
        _folderSynced = true;
    }

    // The session was flushed (the push entry): its commit must make the rename durable too.
    private bool _folderSynced;
    // The partial file's name is durable: its folder was fsynced since the file was created.
    private bool _partialNamed;
    // The end of the last range an fsync was started for.
    private long _flushedTo;

    /// <summary>Unflushed bytes after which a write starts an fsync in the background: the engine's chunk, so that the
    /// pull path (8 MiB writes, no flush before the commit) keeps its one background fsync per chunk.</summary>
    private const long BackgroundFlushAfter = 8L << 20;

    /// <summary>An fsync of the folder, shared with the other commits into it (<see cref="FolderSyncs"/>). Best effort, as
    /// it always was here: a folder that cannot be opened or synced (Windows, where the file system journals names
    /// itself; a file system without fsync of folders) leaves the names to the file system.</summary>
    private static async Task SyncFolderAsync(string folder)
    {
        try
        {
            await FolderSyncs.SyncAsync(folder).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    /// <summary>Reads through the session's own handle: opening the partial file again would ask for a lock of its own,
    /// which the session's exclusive one refuses.</summary>
    public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default)
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(LocalWriteSession));
        return Task.FromResult<Stream?>(new WrittenReadStream(handle, Length));
    }

    /// <summary>An fsync on the pool, then the drop of what it made durable, up to <paramref name="end"/>. A failure of
    /// the one before it (an I/O error) is kept for the commit.</summary>
    private Task FlushInBackground(SafeFileHandle handle, Task previous, long end) =>
        previous.IsFaulted ? previous : Task.Run(() =>
        {
            RandomAccess.FlushToDisk(handle);
            DropCached(handle, end);
        });

    /// <summary>Asks the kernel to forget the cached pages of a range already on disk. Only advice: where it is refused
    /// (not Linux, no such call) the pages simply stay cached, and it is not asked again.</summary>
    private void DropCached(SafeFileHandle handle, long end)
    {
        if (!_dropBehind || end <= _dropped) return;
        try
        {
            if (PosixFadvise((int)handle.DangerousGetHandle(), _dropped, end - _dropped, PosixFadvDontNeed) == 0) _dropped = end;
            else _dropBehind = false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _dropBehind = false;
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);

    /// <summary>Waits for the fsync in flight, if any, before the handle goes: it must not outlive it.</summary>
    private void WaitForFlush()
    {
        try { _flush.GetAwaiter().GetResult(); }
        catch (Exception) { /* only the commit reports it */ }
    }

    public async Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
    {
        var handle = _handle ?? throw new ObjectDisposedException(nameof(LocalWriteSession));
        try
        {
            await _flush.ConfigureAwait(false);
            await Task.Run(() => RandomAccess.FlushToDisk(handle), CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw Translate(e, _target);
        }
        // Renamed while the lock is still held: a writer that opened the partial file before the rename finds it
        // locked and leaves it alone; one that opens the name after it creates a new partial file.
        if (_request.Modified is { } modified) File.SetLastWriteTimeUtc(handle, modified.UtcDateTime);
        File.Move(_partial, _target, overwrite: true);
        // A session that was flushed (the push entry) reports the object as kept once committed: the rename too must
        // survive a power loss. The pull path never flushes, and keeps its one fsync.
        if (_folderSynced) await SyncFolderAsync(Path.GetDirectoryName(_target)!).ConfigureAwait(false);
        CloseDirect();
        handle.Dispose();
        _handle = null;
        var status = FileStatus.Of(_target);
        return new ObjectInfo
        {
            Path = _target, Size = status.Size, Modified = new DateTimeOffset(status.ModifiedUtc, TimeSpan.Zero),
            Version = LocalStorage.Version(status),
        };
    }

    /// <summary>The commit's own fsync makes the bytes durable, and the folder's after the rename makes the name durable:
    /// the partial file's name never needs to be (a flush would sync the folder once more, before the rename).</summary>
    public Task<ObjectInfo> CommitDurablyAsync(CancellationToken cancellationToken = default)
    {
        _folderSynced = true;
        return CommitAsync(cancellationToken);
    }

    /// <summary>Deletes the partial file while still holding its lock, as the commit renames it: never a file another
    /// writer may have locked in between.</summary>
    public Task AbortAsync(CancellationToken cancellationToken = default)
    {
        WaitForFlush();
        try
        {
            if (_handle is not null) File.Delete(_partial);
        }
        finally
        {
            CloseDirect();
            _handle?.Dispose();
            _handle = null;
        }
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        WaitForFlush();
        CloseDirect();
        _handle?.Dispose();
        _handle = null;
        return ValueTask.CompletedTask;
    }

    private static LoadPipeException Translate(IOException e, string target)
    {
        // .NET puts the errno in the low bits of HResult for I/O errors on Unix.
        var errno = e.HResult & 0xFFFF;
        if (errno is ENOSPC or EDQUOT || e.Message.Contains("No space left", StringComparison.Ordinal))
            return new LoadPipeException(ErrorKind.NoSpace, $"{target}: no space left on the device (the partial file is kept for a resume)", e);
        if (errno is EACCES or EPERM)
            return new LoadPipeException(ErrorKind.Auth, $"{target}: permission denied", e);
        // Only faults that may pass are worth another try; a path that cannot exist (a file where a folder should be,
        // a read-only file system) is final.
        var kind = errno is EIO or EAGAIN or EINTR or ETIMEDOUT or EBUSY ? ErrorKind.Transient : ErrorKind.Permanent;
        return new LoadPipeException(kind, $"{target}: {e.Message}", e);
    }
}

/// <summary>Reads the first <paramref name="length"/> bytes of the partial file through the session's handle, which it
/// does not own.</summary>
internal sealed class WrittenReadStream(SafeFileHandle handle, long length) : LoadPipe.Core.Streams.ReadOnlyStream
{
    private long _position;

    public override int Read(Span<byte> buffer)
    {
        if (_position >= length) return 0;
        var n = RandomAccess.Read(handle, buffer[..(int)Math.Min(buffer.Length, length - _position)], _position);
        _position += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= length) return 0;
        var n = await RandomAccess.ReadAsync(handle, buffer[..(int)Math.Min(buffer.Length, length - _position)], _position, cancellationToken).ConfigureAwait(false);
        _position += n;
        return n;
    }
}
