using System.Security.Cryptography;
using System.Text;

namespace LoadPipe.Core.Caching;

/// <summary>
/// A bounded on-disk LRU cache of immutable blobs (seed 000's cache/lru). The total size of its entries never
/// exceeds <see cref="Limit"/>: an entry is admitted only after the least recently used ones are evicted to make
/// room, and an entry larger than the limit is not admitted at all. Entries are written to a temporary file and
/// renamed into place, so a crash never leaves a half entry. Safe to share between threads of one process.
/// </summary>
public sealed class DiskCache
{
    private const string EntrySuffix = ".blob";
    private readonly Lock _lock = new();
    private readonly LinkedList<(string File, long Size)> _lru = new();
    private readonly Dictionary<string, LinkedListNode<(string File, long Size)>> _index = new(StringComparer.Ordinal);

    public DiskCache(string directory, long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
        Limit = limit;
        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, "*.tmp")) TryDelete(stale);
        // Entries from earlier runs, oldest access first.
        foreach (var file in new DirectoryInfo(Directory).EnumerateFiles("*" + EntrySuffix).OrderBy(f => f.LastWriteTimeUtc))
        {
            _index[file.FullName] = _lru.AddLast((file.FullName, file.Length));
            Size += file.Length;
        }
        lock (_lock) EvictTo(Limit);
    }

    public string Directory { get; }

    public long Limit { get; }

    /// <summary>Bytes held now; never more than <see cref="Limit"/>.</summary>
    public long Size { get; private set; }

    /// <summary>Opens the entry for <paramref name="key"/> and marks it recently used; null when absent.</summary>
    public Stream? TryOpen(string key)
    {
        var file = FileFor(key);
        lock (_lock)
        {
            if (!_index.TryGetValue(file, out var node)) return null;
            _lru.Remove(node);
            _lru.AddLast(node);
        }
        try
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            Forget(file);
            return null;
        }
    }

    /// <summary>Stores <paramref name="content"/> under <paramref name="key"/>, evicting older entries as needed.
    /// Returns false when the entry is larger than the whole cache.</summary>
    public async Task<bool> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        if (content.Length > Limit) return false;
        var file = FileFor(key);
        var temp = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
        lock (_lock)
        {
            if (_index.ContainsKey(file)) return true;
            // Reserve the room first, so concurrent puts cannot overshoot the limit together.
            EvictTo(Limit - content.Length);
            Size += content.Length;
        }
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
                await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            File.Move(temp, file, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            lock (_lock) Size -= content.Length;
            throw;
        }
        lock (_lock)
        {
            if (_index.ContainsKey(file)) Size -= content.Length;
            else _index[file] = _lru.AddLast((file, content.Length));
        }
        return true;
    }

    private void EvictTo(long target)
    {
        while (Size > target && _lru.First is { } oldest)
        {
            _lru.RemoveFirst();
            _index.Remove(oldest.Value.File);
            Size -= oldest.Value.Size;
            TryDelete(oldest.Value.File);
        }
    }

    private void Forget(string file)
    {
        lock (_lock)
        {
            if (!_index.Remove(file, out var node)) return;
            _lru.Remove(node);
            Size -= node.Value.Size;
        }
    }

    private string FileFor(string key) =>
        Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))) + EntrySuffix);

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
