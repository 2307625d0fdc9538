using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>
/// The local file system. Without a root, paths are absolute; with one (a `type: local` remote's `root`), paths
/// are relative to it and may not climb out of it. Writes go to a hidden partial file beside the target
/// (".NAME.lp-partial"), are made durable by one fsync at commit (background fsyncs run meanwhile, see
/// <see cref="LocalWriteSession"/>), and are renamed over the target only at commit: a half file never carries the
/// final name.
/// </summary>
public sealed partial class LocalStorage : IStorage, IPartialWrites, IRangedReader, ICheapReads, ISortedListing, IWritableStorage, IResumableWriter, IObjectRemover, IGroupCommitWriter, ILocalFileIdentity, IWholeReader
{
    public const string PartialSuffix = ".lp-partial";
    private readonly string? _root;

    public LocalStorage(string? root = null)
    {
        _root = root is null ? null : Path.GetFullPath(root);
    }

    public string Description => _root is null ? "local disk" : $"local disk under {_root}";

    public string Resolve(string path)
    {
        if (_root is null) return Path.GetFullPath(path);
        var full = Path.GetFullPath(Path.Combine(_root, path.TrimStart('/')));
        var rootWithSep = _root.EndsWith(Path.DirectorySeparatorChar) ? _root : _root + Path.DirectorySeparatorChar;
        if (full != _root && !full.StartsWith(rootWithSep, StringComparison.Ordinal))
            throw new LoadPipeException(ErrorKind.Usage, $"'{path}' points outside {_root}");
        return full;
    }

    /// <summary>Depth first, each folder's entries sorted with folders compared as "name/": the files come out in
    /// <see cref="PathOrder"/> of their relative paths, as S3 lists keys. Memory: one folder's entries per level. Each
    /// file is stat'ed once (<see cref="FileStatus"/>: a link is followed, and stat'ed again for its target); a named
    /// pipe, a socket or a device is listed with <see cref="ObjectInfo.SpecialFileKind"/> set, never opened.</summary>
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        if (!Directory.Exists(full))
            throw new LoadPipeException(ErrorKind.NotFound, File.Exists(full) ? $"{full} is a file, not a folder" : $"{full}: no such folder");
        var pending = new Stack<(List<Child> Entries, int Next, string Folder, string Prefix)>();
        pending.Push((SortedChildren(full), 0, full, ""));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (entries, next, folder, prefix) = pending.Pop();
            if (next == entries.Count) continue;
            pending.Push((entries, next + 1, folder, prefix));
            var entry = entries[next];
            var relative = prefix + entry.Name;
            if (!entry.IsDirectory)
            {
                if (DescribeListed(Path.Join(folder, entry.Name), relative) is { } file) yield return file;
                continue;
            }
            yield return DescribeFolder(relative, entry.ModifiedUtc);
            if (recursive && !entry.IsLink)
            {
                var child = Path.Combine(folder, entry.Name);
                pending.Push((SortedChildren(child), 0, child, relative + "/"));
            }
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>One folder entry as the listing needs it. A link to a folder is listed, not entered. A file is stat'ed
    /// by the listing itself (the enumeration's own stat would see a link, not what it leads to).</summary>
    private readonly record struct Child(string Name, bool IsDirectory, bool IsLink, DateTime ModifiedUtc);

    private static List<Child> SortedChildren(string folder)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0 };
        var children = new System.IO.Enumeration.FileSystemEnumerable<Child>(folder,
            (ref System.IO.Enumeration.FileSystemEntry e) => e.IsDirectory
                ? new Child(e.FileName.ToString(), true, (e.Attributes & FileAttributes.ReparsePoint) != 0, e.LastWriteTimeUtc.UtcDateTime)
                : new Child(e.FileName.ToString(), false, false, default), options)
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => !e.FileName.EndsWith(PartialSuffix, StringComparison.Ordinal),
        }.ToList();
        // Folders compare as "name/", as their keys do in an object store.
        children.Sort((a, b) => PathOrder.Instance.Compare(a.IsDirectory ? a.Name + "/" : a.Name, b.IsDirectory ? b.Name + "/" : b.Name));
        return children;
    }

    /// <summary>A listed entry that is not a folder: what a link leads to. A link to nothing, or (with a root) to
    /// something outside the root, is listed as the link itself: copying it then fails with the reason, instead of the
    /// file vanishing from the copy. Null when the entry is gone since the folder was read.</summary>
    private ObjectInfo? DescribeListed(string full, string relative)
    {
        var status = FileStatus.Of(full, followLinks: false);
        if (status.Kind == FileKind.Link)
        {
            var target = FileStatus.Of(full);
            if (target.Kind == FileKind.Missing || !IsInsideRoot(full, out _)) return DescribeFile(relative, status with { Kind = FileKind.Regular });
            status = target;
        }
        return status.Kind == FileKind.Missing ? null : Describe(status, relative);
    }

    /// <summary>Links are followed (a link to a file is copied as the file, as rclone's -L does); with a root, a path
    /// whose links lead outside it is refused.</summary>
    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        var status = FileStatus.Of(full);
        if (status.Kind == FileKind.Missing) return Task.FromResult<ObjectInfo?>(null);
        EnsureInsideRoot(full, path);
        return Task.FromResult<ObjectInfo?>(Describe(status, path));
    }

    /// <summary>Checks what the path is before opening it: a named pipe would block the open until someone writes to
    /// it, and a device may never end, so only regular files are opened. The version is checked on the open file.</summary>
    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        try
        {
            var status = FileStatus.Of(full);
            if (status.Kind == FileKind.Missing) throw new FileNotFoundException(null, full);
            EnsureInsideRoot(full, path);
            if (SpecialKind(status.Kind) is { } special)
                throw new LoadPipeException(ErrorKind.Usage, $"{full} is {special}, not a regular file: it is not read");
            var stream = new FileStream(full, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan, BufferSize = 0,
            });
            if (options.IfVersion is { } version && Version(FileStatus.Of(stream.SafeFileHandle, full)) != version)
            {
                stream.Dispose();
                throw new SourceChangedException($"{full} changed since the transfer started");
            }
            stream.Position = options.Offset;
            return Task.FromResult<Stream>(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LoadPipeException(ErrorKind.NotFound, $"{full}: no such file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new LoadPipeException(ErrorKind.Auth, $"{full}: permission denied", e);
        }
    }

    /// <summary>A link is followed, as <see cref="OpenReadAsync"/> follows it. On 64-bit Linux, four system calls
    /// (<see cref="LocalWholeRead"/>); elsewhere a handle without FileStream, the path stat'ed before the open (a named
    /// pipe would block it).</summary>
    public WholeRead ReadWhole(string path, Memory<byte> buffer)
    {
        var full = Resolve(path);
        if (_root is not null) EnsureInsideRoot(full, path);
        if (LocalWholeRead.Available)
        {
            var (length, after) = LocalWholeRead.Read(full, buffer.Span);
            return new WholeRead(length, Describe(after, path));
        }
        try
        {
            var status = FileStatus.Of(full);
            if (status.Kind == FileKind.Missing) throw new FileNotFoundException(null, full);
            if (SpecialKind(status.Kind) is { } special)
                throw new LoadPipeException(ErrorKind.Usage, $"{full} is {special}, not a regular file: it is not read");
            using var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var total = 0;
            int n;
            while (total < buffer.Length && (n = RandomAccess.Read(handle, buffer.Span[total..], total)) > 0) total += n;
            return new WholeRead(total, Describe(FileStatus.Of(handle, full), path));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LoadPipeException(ErrorKind.NotFound, $"{full}: no such file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new LoadPipeException(ErrorKind.Auth, $"{full}: permission denied", e);
        }
    }

    /// <summary>Device and inode, links followed; where the system gives no inode, the path with its links resolved.</summary>
    public string? FileIdOf(string path)
    {
        var full = Resolve(path.Length == 0 ? "." : path);
        var status = FileStatus.Of(full);
        if (status.Kind == FileKind.Missing) return null;
        return status.HasChangeTime ? $"{status.Device:x}:{status.Inode:x}" : RealPath.Of(full);
    }

    /// <summary>With a root, refuses a path whose links lead outside it (the root's own path may itself be a link).</summary>
    private void EnsureInsideRoot(string full, string path)
    {
        if (!IsInsideRoot(full, out var real))
            throw new LoadPipeException(ErrorKind.Usage, $"'{path}' leads outside {_root} (to {real})");
    }

    private bool IsInsideRoot(string full, out string real)
    {
        real = full;
        if (_root is null) return true;
        var root = _realRoot ??= RealPath.Of(_root);
        real = RealPath.Of(full);
        return real == root || real.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal);
    }

    private string? _realRoot;

    public Task<bool> RemoveAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        EnsureInsideRoot(full, path);
        if (!File.Exists(full)) return Task.FromResult(false);
        File.Delete(full);
        return Task.FromResult(true);
    }

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Resolve(path));
        return Task.CompletedTask;
    }

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
    {
        var target = Resolve(path);
        var partial = PartialPath(target);
        return Task.FromResult<IWriteSession>(LocalWriteSession.Create(target, partial, request, 0));
    }

    public Task<IWriteSession?> ResumeWriteAsync(string path, string resumeState, long confirmedLength, WriteRequest request,
        CancellationToken cancellationToken = default)
    {
        var target = Resolve(path);
        var partial = PartialPath(target);
        // The state is the partial file's path; only ever trust the one beside our own target.
        if (resumeState != partial || !File.Exists(partial) || new FileInfo(partial).Length < confirmedLength)
            return Task.FromResult<IWriteSession?>(null);
        return Task.FromResult<IWriteSession?>(LocalWriteSession.Create(target, partial, request, confirmedLength));
    }

    /// <summary>The file is written whole to its partial file, under that file's lock (<see cref="LocalStagedObject"/>).</summary>
    public Task<IStagedObject> StageAsync(string path, ReadOnlyMemory<byte> content, WriteRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult<IStagedObject>(LocalStagedObject.Stage(path, Resolve(path), content, request, _madeFolders));

    /// <summary>One syncfs per file system (or fsyncs from a pool of threads), renames; the folders renamed into are
    /// made durable by the next commit's syncfs, or fsynced (<see cref="LocalStagedObject.CommitAsync"/>).</summary>
    public Task CommitAsync(IReadOnlyList<IStagedObject> staged, CancellationToken cancellationToken = default) =>
        LocalStagedObject.CommitAsync(staged.Select(s => s as LocalStagedObject
            ?? throw new ArgumentException($"{s.Path} was not staged by local disk", nameof(staged))).ToList(), _unsyncedNames);

    /// <summary>One fsync per folder the last commits renamed into.</summary>
    public Task SyncNamesAsync(CancellationToken cancellationToken = default) => LocalStagedObject.SyncNamesAsync(_unsyncedNames);

    // The folders the commits of this store renamed into whose new names are not yet durable.
    private readonly LocalStagedObject.UnsyncedNames _unsyncedNames = new();

    /// <summary>How many folders hold names given by this store's commits that are not yet durable (tests read it).</summary>
    internal int UnsyncedFolders => _unsyncedNames.Count;

    // Folders this store created or found while staging: each is asked for once per run, not once per file.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _madeFolders = new(StringComparer.Ordinal);

    /// <summary>".NAME.lp-partial" in the target's folder: hidden, on the same file system, so the rename is atomic.</summary>
    public static string PartialPath(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + PartialSuffix);

    /// <summary>Local files have no ETag: the version is the modified time and the size, then (after
    /// <see cref="SourceIdentity.VersionExtension"/>, so that versions recorded before it was added still compare on
    /// the part they have) the change time and the inode. Neither can be put back by `touch -r` or a rewrite in place
    /// (the change time), nor by replacing the file with another (the inode). The device is left out: its number may
    /// change when a disk is mounted again.</summary>
    internal static string Version(FileStatus status) => status.HasChangeTime
        ? $"{status.ModifiedUtc.Ticks:x}-{status.Size:x}{SourceIdentity.VersionExtension}{status.ChangeTicks:x}-{status.Inode:x}"
        : $"{status.ModifiedUtc.Ticks:x}-{status.Size:x}";

    private static ObjectInfo Describe(FileStatus status, string path) => status.Kind switch
    {
        FileKind.Directory => DescribeFolder(path, status.ModifiedUtc),
        _ => DescribeFile(path, status),
    };

    internal static string? SpecialKind(FileKind kind) => kind switch
    {
        FileKind.Pipe => "a named pipe",
        FileKind.Socket => "a socket",
        FileKind.Device => "a device",
        _ => null,
    };

    private static ObjectInfo DescribeFolder(string path, DateTime modifiedUtc) =>
        new() { Path = path, Size = 0, Modified = new DateTimeOffset(modifiedUtc, TimeSpan.Zero), IsDirectory = true };

    private static ObjectInfo DescribeFile(string path, FileStatus status) => new()
    {
        Path = path,
        Size = status.Size,
        Modified = new DateTimeOffset(status.ModifiedUtc, TimeSpan.Zero),
        Version = Version(status),
        // Without a change time, a rewrite that keeps the size and puts the modified time back is not seen.
        WeakVersion = !status.HasChangeTime,
        SpecialFileKind = SpecialKind(status.Kind),
    };
}
