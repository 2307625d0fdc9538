using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Storage;

namespace LoadPipe.Storage.Local;

/// <summary>
/// The local file system. Without a root, paths are absolute; with one (a `type: local` remote's `root`), paths
/// are relative to it and may not climb out of it. Writes go to a hidden partial file beside the target
/// (".NAME.lp-partial"), are fsynced chunk by chunk, and are renamed over the target only at commit: a half file
/// never carries the final name.
/// </summary>
public sealed class LocalStorage : IStorage, IRangedReader, ICheapReads, ISortedListing, IWritableStorage, IResumableWriter
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
    /// entry is read once (the enumeration's own stat), with no FileInfo made for it.</summary>
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
            yield return entry.IsDirectory ? DescribeFolder(relative, entry.ModifiedUtc) : DescribeFile(relative, entry.Length, entry.ModifiedUtc);
            if (recursive && entry.IsDirectory && !entry.IsLink)
            {
                var child = Path.Combine(folder, entry.Name);
                pending.Push((SortedChildren(child), 0, child, relative + "/"));
            }
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>One folder entry as the listing needs it. A link to a folder is listed, not entered.</summary>
    private readonly record struct Child(string Name, bool IsDirectory, bool IsLink, long Length, DateTime ModifiedUtc);

    private static List<Child> SortedChildren(string folder)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0 };
        var children = new System.IO.Enumeration.FileSystemEnumerable<Child>(folder,
            (ref System.IO.Enumeration.FileSystemEntry e) => new Child(e.FileName.ToString(), e.IsDirectory,
                (e.Attributes & FileAttributes.ReparsePoint) != 0, e.IsDirectory ? 0 : e.Length, e.LastWriteTimeUtc.UtcDateTime), options)
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => !e.FileName.EndsWith(PartialSuffix, StringComparison.Ordinal),
        }.ToList();
        // Folders compare as "name/", as their keys do in an object store.
        children.Sort((a, b) => PathOrder.Instance.Compare(a.IsDirectory ? a.Name + "/" : a.Name, b.IsDirectory ? b.Name + "/" : b.Name));
        return children;
    }

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        return Task.FromResult(info.Exists ? Describe(info, path) : null);
    }

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        try
        {
            var stream = new FileStream(full, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan, BufferSize = 0,
            });
            if (options.IfVersion is { } version && Version(File.GetLastWriteTimeUtc(full), stream.Length) != version)
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

    /// <summary>".NAME.lp-partial" in the target's folder: hidden, on the same file system, so the rename is atomic.</summary>
    public static string PartialPath(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + PartialSuffix);

    /// <summary>Local files have no ETag: the version is the modified time and size.</summary>
    internal static string Version(DateTime modifiedUtc, long size) => $"{modifiedUtc.Ticks:x}-{size:x}";

    private static ObjectInfo Describe(FileSystemInfo info, string path) => info switch
    {
        FileInfo f => DescribeFile(path, f.Length, f.LastWriteTimeUtc),
        _ => DescribeFolder(path, info.LastWriteTimeUtc),
    };

    private static ObjectInfo DescribeFolder(string path, DateTime modifiedUtc) =>
        new() { Path = path, Size = 0, Modified = new DateTimeOffset(modifiedUtc, TimeSpan.Zero), IsDirectory = true };

    private static ObjectInfo DescribeFile(string path, long size, DateTime modifiedUtc) => new()
    {
        Path = path,
        Size = size,
        Modified = new DateTimeOffset(modifiedUtc, TimeSpan.Zero),
        Version = Version(modifiedUtc, size),
    };
}
