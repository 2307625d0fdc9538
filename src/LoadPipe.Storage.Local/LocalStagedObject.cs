using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;
using Microsoft.Win32.SafeHandles;

namespace LoadPipe.Storage.Local;

/// <summary>
/// A small file written whole to its partial file (".NAME.lp-partial", locked as a write session's is) and waiting for
/// its batch's commit (<see cref="CommitAsync"/>): the batch's files are made durable together (one syncfs, or fsyncs
/// from a pool of threads), then renamed; the folders they were renamed in are made durable by the next batch's syncfs,
/// or fsynced once each. A file that fits in one write needs nothing else of
/// <see cref="LocalWriteSession"/>: no background fsync, no drop-behind, no resume.
/// </summary>
internal sealed partial class LocalStagedObject : IStagedObject
{
    private readonly string _target;
    private readonly string _partial;
    private SafeFileHandle? _handle;
    // The order in which partial files were opened, process-wide: the batch's syncfs goes through its oldest descriptor.
    private readonly long _opened;
    private static long s_opened;

    private LocalStagedObject(string path, string target, string partial, SafeFileHandle handle, long opened)
    {
        Path = path;
        _target = target;
        _partial = partial;
        _handle = handle;
        _opened = opened;
    }

    public string Path { get; }

    public bool Committed { get; private set; }

    /// <summary>Writes <paramref name="content"/> to <paramref name="target"/>'s partial file, created (or taken over from
    /// a run that died) under its lock and cut to the content's length. <paramref name="folders"/>: the folders this
    /// store already made, so that a folder of 1,000 files is created once, not asked for 1,000 times.</summary>
    public static LocalStagedObject Stage(string path, string target, ReadOnlyMemory<byte> content, WriteRequest request,
        ConcurrentDictionary<string, byte> folders)
    {
        var partial = LocalStorage.PartialPath(target);
        var folder = System.IO.Path.GetDirectoryName(target)!;
        SafeFileHandle? handle = null;
        long opened = 0;
        try
        {
            if (!folders.ContainsKey(folder))
            {
                Directory.CreateDirectory(folder);
                folders.TryAdd(folder, 0);
            }
            if (Raw)
            {
                opened = Interlocked.Increment(ref s_opened);
                handle = CreateLocked(partial, target, out var created);
                Write(handle, content.Span, target);
                // A partial file left longer by a run that died keeps no bytes beyond the content; one this call created
                // has none.
                if (!created) RandomAccess.SetLength(handle, content.Length);
            }
            else
            {
                // Never truncated at open: a partial file another writer holds is never cut (see LocalWriteSession.Create).
                handle = File.OpenHandle(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, LocalWriteSession.ExclusiveShare);
                LocalWriteSession.TakeLock(handle, target);
                RandomAccess.Write(handle, content.Span, 0);
                RandomAccess.SetLength(handle, content.Length);
            }
            if (request.Modified is { } modified) SetModified(handle, modified);
            return new LocalStagedObject(path, target, partial, handle, opened);
        }
        catch (UnauthorizedAccessException e)
        {
            handle?.Dispose();
            throw new LoadPipeException(ErrorKind.Auth, $"{target}: permission denied", e);
        }
        catch (IOException e)
        {
            handle?.Dispose();
            throw LocalWriteSession.IsLockedByAnother(e) ? LocalWriteSession.Busy(target, e) : new LoadPipeException(ErrorKind.Permanent, $"{target}: {e.Message}", e);
        }
        catch
        {
            handle?.Dispose();
            throw;
        }
    }

    /// <summary>On 64-bit Linux the partial file is opened, written, fsynced and closed by the system calls themselves:
    /// .NET's handle adds a seek at open and an unlock before the close, and its FileMode.OpenOrCreate cannot tell a new
    /// file (nothing to cut) from one a run left behind.</summary>
    private static bool Raw => LocalWholeRead.Available;

    private const int ORdWr = 2, OCreat = 0x40, OExcl = 0x80, OCloExec = 0x80000;
    private const int EINTR = 4, EEXIST = 17, EACCES = 13, EPERM = 1, EAGAIN = 11;
    private const int LockExclusive = 2, LockNonBlocking = 4;

    /// <summary>Opens the partial file under an exclusive flock (see <see cref="LocalWriteSession.TakeLock"/>), creating
    /// it when it is not there (<paramref name="created"/>: then it is empty). Never truncated before the lock is held: a
    /// partial file another writer holds is never cut. A file this call created can only hold another writer's bytes if
    /// that writer opened it, locked it, wrote and died, all between this open and this lock; it would then have held the
    /// lock first and this call would have found it busy, unless it had died in those microseconds.</summary>
    private static SafeFileHandle CreateLocked(string partial, string target, out bool created)
    {
        int fd;
        while ((fd = OpenMode(partial, ORdWr | OCreat | OExcl | OCloExec, 0x1B6)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        created = fd >= 0;
        if (fd < 0 && Marshal.GetLastPInvokeError() == EEXIST)
        {
            while ((fd = OpenMode(partial, ORdWr | OCloExec, 0)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
            }
        }
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is EACCES or EPERM
                ? new LoadPipeException(ErrorKind.Auth, $"{target}: permission denied")
                : new LoadPipeException(ErrorKind.Permanent, $"{target}: cannot create {partial} (errno {errno})");
        }
        var handle = new SafeFileHandle((nint)fd, ownsHandle: true);
        if (Flock(fd, LockExclusive | LockNonBlocking) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw errno == EAGAIN ? LocalWriteSession.Busy(target, null) : new LoadPipeException(ErrorKind.Permanent, $"{target}: cannot lock {partial} (errno {errno})");
        }
        return handle;
    }

    /// <summary>The whole content at offset 0, in as many pwrite(2) calls as it takes (one, for a small file).</summary>
    private static void Write(SafeFileHandle handle, ReadOnlySpan<byte> content, string target)
    {
        var fd = (int)handle.DangerousGetHandle();
        var done = 0;
        while (done < content.Length)
        {
            var n = PWrite(fd, in content[done], content.Length - done, done);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new LoadPipeException(ErrorKind.Permanent, $"{target}: write failed (errno {errno})");
            }
            done += (int)n;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenMode(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint PWrite(int fd, in byte buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    /// <summary>fsyncs the batch from up to this many threads at once, where <see cref="SyncByFileSystem"/> is not used. A
    /// journalling file system (ext4, xfs) folds the fsyncs that arrive together into one journal commit, so 16 at once
    /// cost about what one costs alone; one after another, each waits for a commit of its own.</summary>
    private const int SyncThreads = 16;

    /// <summary>
    /// True where a batch is made durable by one syncfs(2) per file system instead of one fsync per file: Linux 5.8 and
    /// later, where syncfs reports a write-back error of any file of the file system that happened since the descriptor
    /// it is called on was opened (the file system's error sequence, sampled at open). It is called on the batch's
    /// oldest partial file, opened before any byte of the batch was written, so a failed write-back of any of its files
    /// throws, and the batch is not recorded. Measured (2 cores, ext4, 256-file batches of 12-byte files, three
    /// interleaved rounds): 2.5-2.9 s of system time per 5,000 files against 4.3-4.4 s for 16 threads of fsyncs, and one
    /// system call per batch instead of one per file plus the threads' wake-ups. Its cost: it also writes back what
    /// other processes left dirty on that file system, which on a machine busy writing makes the batch wait longer
    /// (not the per-file CPU). LP_LOCAL_SYNC=files turns it off (per-file fsyncs, as before).
    /// </summary>
    internal static readonly bool SyncByFileSystem = OperatingSystem.IsLinux() && Environment.Is64BitProcess
        && Environment.OSVersion.Version >= new Version(5, 8)
        && !string.Equals(Environment.GetEnvironmentVariable("LP_LOCAL_SYNC"), "files", StringComparison.OrdinalIgnoreCase);

    /// <summary>Durable first, then named: a final name never carries bytes a power loss could take. The names given
    /// before (<paramref name="unsynced"/>) are durable when it returns: a syncfs of their file system commits them with
    /// the batch's bytes (its journal commit holds every change made before it), the others are fsynced. This batch's
    /// names are left in <paramref name="unsynced"/> for the next commit, or <see cref="SyncNamesAsync"/>, where syncfs
    /// is used; elsewhere its folders are fsynced at once. Runs on threads of its own: the syncs block.</summary>
    public static Task CommitAsync(IReadOnlyList<LocalStagedObject> batch, UnsyncedNames unsynced) =>
        Task.Factory.StartNew(() => Commit(batch, unsynced), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Makes durable the names that commits gave before this call: one fsync per folder.</summary>
    public static Task SyncNamesAsync(UnsyncedNames unsynced) =>
        Task.Factory.StartNew(() => unsynced.Sync(unsynced.Take(), synced: null), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static void Commit(IReadOnlyList<LocalStagedObject> batch, UnsyncedNames unsynced)
    {
        // Taken before the batch's sync begins: a syncfs covers the names given before it, not those given during it.
        var earlier = unsynced.Take();
        Dictionary<string, ulong>? devices = null;
        try
        {
            if (SyncByFileSystem && Raw) devices = SyncFileSystems(batch);
            else SyncAll(batch);
        }
        catch
        {
            unsynced.Restore(earlier);
            throw;
        }
        unsynced.Sync(earlier, devices is null ? null : [.. devices.Values]);
        var folders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var staged in batch)
        {
            if (staged._handle is null || !staged.TryRename()) continue;
            // Let go only once renamed, as a write session's commit does: a writer that opened the partial file just
            // before finds it locked and leaves it alone.
            staged._handle.Dispose();
            staged._handle = null;
            staged.Committed = true;
            folders.Add(System.IO.Path.GetDirectoryName(staged._target)!);
        }
        if (devices is not null)
        {
            foreach (var folder in folders) unsynced.Add(folder, devices[folder]);
            return;
        }
        // Unlike a write session's, a failure here throws: the batch is then not known to be durable.
        foreach (var folder in folders) FolderSyncs.Sync(folder);
    }

    /// <summary>Folders renamed into whose new names are not yet known durable, each with its file system's device.</summary>
    internal sealed class UnsyncedNames
    {
        private readonly object _gate = new();
        private Dictionary<string, ulong> _folders = new(StringComparer.Ordinal);

        public int Count
        {
            get
            {
                lock (_gate) return _folders.Count;
            }
        }

        public void Add(string folder, ulong device)
        {
            lock (_gate) _folders[folder] = device;
        }

        /// <summary>The names given so far, no longer held here: the caller makes them durable (<see cref="Sync"/>).</summary>
        public Dictionary<string, ulong> Take()
        {
            lock (_gate)
            {
                var folders = _folders;
                _folders = new(StringComparer.Ordinal);
                return folders;
            }
        }

        /// <summary>Holds <paramref name="folders"/> again, not made durable, for a later sync to try.</summary>
        public void Restore(Dictionary<string, ulong> folders)
        {
            lock (_gate)
            {
                foreach (var (folder, device) in folders) _folders.TryAdd(folder, device);
            }
        }

        /// <summary>Makes the names in <paramref name="folders"/> (<see cref="Take"/>n) durable: those on a file system
        /// in <paramref name="synced"/> already are (a syncfs of it began after they were given, and ended), the others
        /// are fsynced, one per folder. On a failure they are held again (<see cref="Restore"/>) and it throws.</summary>
        public void Sync(Dictionary<string, ulong> folders, HashSet<ulong>? synced)
        {
            try
            {
                foreach (var (folder, device) in folders)
                    if (synced is null || !synced.Contains(device)) FolderSyncs.Sync(folder);
            }
            catch
            {
                Restore(folders);
                throw;
            }
        }
    }

    /// <summary>One syncfs per file system the batch wrote to, through the oldest partial file there (see
    /// <see cref="SyncByFileSystem"/>). The file systems are told apart by the device of one file per folder (one fstat
    /// per folder, not per file). Returns each folder's device.</summary>
    private static Dictionary<string, ulong> SyncFileSystems(IReadOnlyList<LocalStagedObject> batch)
    {
        var oldestPerFolder = new Dictionary<string, LocalStagedObject>(StringComparer.Ordinal);
        foreach (var staged in batch)
        {
            if (staged._handle is null) continue;
            var folder = System.IO.Path.GetDirectoryName(staged._target)!;
            if (!oldestPerFolder.TryGetValue(folder, out var oldest) || staged._opened < oldest._opened) oldestPerFolder[folder] = staged;
        }
        var devices = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var oldestPerDevice = new Dictionary<ulong, LocalStagedObject>();
        Span<byte> status = stackalloc byte[256];
        foreach (var (folder, staged) in oldestPerFolder)
        {
            if (FStat((int)staged._handle!.DangerousGetHandle(), ref status[0]) != 0)
                throw new IOException($"fstat failed (errno {Marshal.GetLastPInvokeError()})");
            // st_dev comes first in struct stat on 64-bit Linux (x86-64 and arm64 alike), 8 bytes.
            var device = BitConverter.ToUInt64(status[..8]);
            devices[folder] = device;
            if (!oldestPerDevice.TryGetValue(device, out var oldest) || staged._opened < oldest._opened) oldestPerDevice[device] = staged;
        }
        foreach (var staged in oldestPerDevice.Values)
        {
            int result;
            while ((result = SyncFs((int)staged._handle!.DangerousGetHandle())) != 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
            }
            if (result != 0) throw new IOException($"syncfs failed (errno {Marshal.GetLastPInvokeError()})");
        }
        return devices;
    }

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, ref byte status);

    private static void SyncAll(IReadOnlyList<LocalStagedObject> batch)
    {
        var next = -1;
        ExceptionDispatchInfo? failure = null;
        var helpers = Math.Max(0, Math.Min(SyncThreads, batch.Count) - 1);
        var running = helpers;
        // Waited for without spinning: a spinning wait costs a sched_yield each turn, several per file.
        using var done = new ManualResetEventSlim(helpers == 0, spinCount: 0);
        for (var i = 0; i < helpers; i++)
        {
            SyncPool.Add(() =>
            {
                try
                {
                    Work();
                }
                finally
                {
                    if (Interlocked.Decrement(ref running) == 0) done.Set();
                }
            });
        }
        Work();
        done.Wait();
        failure?.Throw();

        void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batch.Count && Volatile.Read(ref failure) is null)
            {
                try
                {
                    if (batch[i]._handle is { } handle) Flush(handle);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                }
            }
        }
    }

    private static void Flush(SafeFileHandle handle)
    {
        if (!Raw)
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        int result;
        while ((result = Fsync((int)handle.DangerousGetHandle())) != 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        if (result != 0) throw new IOException($"fsync failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>The threads the fsyncs run on, started once per process and kept (waiting, they cost nothing): a batch
    /// hands them its work instead of starting threads of its own, each of which cost about ten system calls.</summary>
    private static class SyncPool
    {
        private static readonly Queue<Action> Queue = new();
        private static readonly object Gate = new();

        static SyncPool()
        {
            for (var i = 0; i < SyncThreads - 1; i++) new Thread(Run) { IsBackground = true, Name = "lp fsync" }.Start();
        }

        public static void Add(Action work)
        {
            lock (Gate)
            {
                Queue.Enqueue(work);
                Monitor.Pulse(Gate);
            }
        }

        // Monitor.Wait blocks at once, where a SemaphoreSlim (BlockingCollection's) spins with sched_yield first.
        private static void Run()
        {
            while (true)
            {
                Action work;
                lock (Gate)
                {
                    while (Queue.Count == 0) Monitor.Wait(Gate);
                    work = Queue.Dequeue();
                }
                work();
            }
        }
    }

    /// <summary>One rename(2), where .NET's File.Move adds a stat of its own; false when it failed (the target is a
    /// folder, the folder went away): the file is then left to the engine's ordinary path, which says why.</summary>
    private bool TryRename()
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                File.Move(_partial, _target, overwrite: true);
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
        return Rename(_partial, _target) == 0;
    }

    /// <summary>The modified time, set with one futimens(2) that leaves the access time alone (.NET's setter stats the
    /// file first to keep it).</summary>
    private static void SetModified(SafeFileHandle handle, DateTimeOffset modified)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            File.SetLastWriteTimeUtc(handle, modified.UtcDateTime);
            return;
        }
        var ticks = modified.UtcTicks - DateTime.UnixEpoch.Ticks;
        // struct timespec[2] on 64-bit Linux: { tv_sec, tv_nsec } for the access time (omitted), then the modified time.
        long[] times = [0, UtimeOmit, Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest), rest * 100];
        if (rest < 0) (times[2], times[3]) = (times[2] - 1, (rest + TimeSpan.TicksPerSecond) * 100);
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Futimens((int)handle.DangerousGetHandle(), times) != 0) File.SetLastWriteTimeUtc(handle, modified.UtcDateTime);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private const long UtimeOmit = (1L << 30) - 2;

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int Futimens(int fd, long[] times);

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Rename(string from, string to);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    /// <summary>Not committed: the partial file is deleted while its lock is still held, as an aborted session's is.</summary>
    public ValueTask DisposeAsync()
    {
        if (_handle is null) return ValueTask.CompletedTask;
        try
        {
            File.Delete(_partial);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the next write of this path takes it over.
        }
        finally
        {
            _handle.Dispose();
            _handle = null;
        }
        return ValueTask.CompletedTask;
    }
}
