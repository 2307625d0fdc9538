using System.Runtime.InteropServices;

namespace LoadPipe.Storage.Local;

/// <summary>
/// Shared fsyncs of folders (group commit of names): an fsync of a folder makes durable every name given in it before
/// the fsync began, so the commits that renamed into one folder at about the same time (16 uploads into a storage
/// element) need one fsync between them, not one each. A caller joins the next fsync of its folder that starts after
/// its call: while one runs, the callers that come wait for the one after it, which starts as soon as it ends and
/// covers them all.
/// </summary>
/// <remarks>Every caller of one fsync gets its outcome: when it fails, each of them fails with its error.</remarks>
internal static partial class FolderSyncs
{
    private static readonly Dictionary<string, Pending> Folders = new(StringComparer.Ordinal);

    /// <summary>How many fsyncs of folders ran, and how many calls asked for one (tests read them).</summary>
    internal static long Syncs, Calls;

    /// <summary>Completes once an fsync of <paramref name="folder"/> that began after this call has ended; throws
    /// <see cref="IOException"/> when it failed.</summary>
    public static Task SyncAsync(string folder)
    {
        if (OperatingSystem.IsWindows()) return Task.CompletedTask;
        Interlocked.Increment(ref Calls);
        lock (Folders)
        {
            if (Folders.TryGetValue(folder, out var pending))
                return (pending.Next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Folders[folder] = new Pending();
            _ = Task.Run(() => RunAsync(folder, first), CancellationToken.None);
            return first.Task;
        }
    }

    /// <summary>Runs the fsyncs of one folder, one after the other, while callers wait for a next one.</summary>
    private static async Task RunAsync(string folder, TaskCompletionSource current)
    {
        while (true)
        {
            try
            {
                Interlocked.Increment(ref Syncs);
                Sync(folder);
                current.TrySetResult();
            }
            catch (Exception e)
            {
                current.TrySetException(e);
            }
            lock (Folders)
            {
                var pending = Folders[folder];
                if (pending.Next is null)
                {
                    Folders.Remove(folder);
                    return;
                }
                current = pending.Next;
                pending.Next = null;
            }
            // The next fsync on a pool thread of its own turn: the callers just released run their continuations.
            await Task.Yield();
        }
    }

    /// <summary>fsync of a folder makes the names in it durable. .NET cannot open a folder as a file, hence open(2).</summary>
    public static void Sync(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(folder, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"{folder}: cannot open the folder to make its new names durable (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"{folder}: fsync of the folder failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private sealed class Pending
    {
        /// <summary>The fsync after the one running, which callers that came while it runs wait for.</summary>
        public TaskCompletionSource? Next;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
