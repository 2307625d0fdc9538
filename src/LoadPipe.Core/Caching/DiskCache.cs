using System.Security.Cryptography;
using System.Text;

namespace LoadPipe.Core.Caching;

/// <summary>
/// A bounded on-disk cache (seed 000's cache/lru) of two kinds of files, both counted in <see cref="Limit"/>:
/// <list type="bullet">
/// <item>Entries: immutable blobs under a key (<see cref="PutAsync"/>, <see cref="TryOpen"/>), evicted least recently
/// used first to make room. An entry being read (its stream open) is in use and never evicted.</item>
/// <item>Files (<see cref="NewFile"/>): written by their owner and deleted or moved away by it when it is done with them
/// (a download waiting for its processor). Never evicted: a file takes its room before its bytes arrive
/// (<see cref="CacheFile.ReserveAsync"/>), waiting, in order of arrival, until the files and entries in use leave
/// it; a file larger than the whole limit is let in alone.</item>
/// </list>
/// Bytes go to disk as they are written: nothing is held whole in memory. Entries are written to a temporary file
/// and renamed into place, so a crash never leaves a half entry (temporaries are deleted when the cache is opened).
/// Files are not: another process may share the folder and be writing them (a killed run's files stay, uncounted).
/// Safe to share between threads of one process.
/// </summary>
public sealed class DiskCache
{
    private const string EntrySuffix = ".blob";
    private const string FileSuffix = ".part";
    private readonly Lock _lock = new();
    private readonly LinkedList<Entry> _lru = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _index = new(StringComparer.Ordinal);
    private readonly Queue<(long Size, TaskCompletionSource Admitted)> _waiting = new();
    private long _files;
    private long _inUse;
    private long _writing;

    public DiskCache(string directory, long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Directory = System.IO.Directory.CreateDirectory(directory).FullName;
        Limit = limit;
        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, "*.tmp")) TryDelete(stale);
        // Entries from earlier runs, oldest access first.
        foreach (var file in new DirectoryInfo(Directory).EnumerateFiles("*" + EntrySuffix).OrderBy(f => f.LastWriteTimeUtc))
        {
            _index[file.FullName] = _lru.AddLast(new Entry(file.FullName, file.Length));
            Size += file.Length;
        }
        lock (_lock) EvictTo(Limit);
    }

    public string Directory { get; }

    public long Limit { get; }

    /// <summary>Bytes held now, entries and files. Never more than <see cref="Limit"/>, but for a file let in alone
    /// and the bytes of files that outgrow their room (<see cref="CacheFile.Account"/>).</summary>
    public long Size { get; private set; }

    /// <summary>Opens the entry for <paramref name="key"/> and marks it recently used; null when absent. The entry is
    /// not evicted while the stream is open.</summary>
    public Stream? TryOpen(string key)
    {
        var file = FileFor(key);
        LinkedListNode<Entry>? node;
        lock (_lock)
        {
            if (!_index.TryGetValue(file, out node)) return null;
            _lru.Remove(node);
            _lru.AddLast(node);
            if (node.Value.Readers++ == 0) _inUse += node.Value.Size;
        }
        try
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
            var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
            return new EntryStream(stream, () => Unpin(node));
        }
        catch (FileNotFoundException)
        {
            Unpin(node);
            Forget(file);
            return null;
        }
    }

    /// <summary>Stores <paramref name="content"/> (a block, not a whole file) under <paramref name="key"/>, evicting
    /// older entries not in use as needed. Returns false when it does not fit: larger than the whole cache, or the room
    /// is held by files and entries in use.</summary>
    public async Task<bool> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        if (content.Length > Limit) return false;
        var file = FileFor(key);
        var temp = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
        lock (_lock)
        {
            if (_index.ContainsKey(file)) return true;
            if (Held + content.Length > Limit) return false;
            // Reserve the room first, so concurrent puts cannot overshoot the limit together.
            EvictTo(Limit - content.Length);
            Size += content.Length;
            _writing += content.Length;
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
            lock (_lock)
            {
                _writing -= content.Length;
                Size -= content.Length;
                AdmitWaiting();
            }
            throw;
        }
        lock (_lock)
        {
            _writing -= content.Length;
            if (_index.ContainsKey(file)) Size -= content.Length;
            else _index[file] = _lru.AddLast(new Entry(file, content.Length));
        }
        return true;
    }

    /// <summary>A new file in the cache's folder, holding no room yet: its owner reserves room before writing
    /// (<see cref="CacheFile.ReserveAsync"/>) and disposes of it (deleted) or keeps it elsewhere (<see cref="CacheFile.MoveTo"/>).</summary>
    public CacheFile NewFile() => new(this, Path.Combine(Directory, Guid.NewGuid().ToString("N") + FileSuffix));

    /// <summary>Waits until <paramref name="size"/> bytes fit, and takes them; in order of arrival.</summary>
    internal async ValueTask ReserveAsync(long size, CancellationToken cancellationToken)
    {
        TaskCompletionSource admitted;
        lock (_lock)
        {
            if (_waiting.Count == 0 && TryAdmit(size)) return;
            admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue((size, admitted));
        }
        using (cancellationToken.Register(() => admitted.TrySetCanceled(cancellationToken)))
            await admitted.Task.ConfigureAwait(false);
    }

    /// <summary>Takes room for a file without waiting (bytes beyond its reservation).</summary>
    internal void Grow(long size)
    {
        lock (_lock)
        {
            Size += size;
            _files += size;
        }
    }

    /// <summary>Gives back a file's room.</summary>
    internal void ReleaseFile(long size)
    {
        lock (_lock)
        {
            _files -= size;
            Size -= size;
            AdmitWaiting();
        }
    }

    /// <summary>Under the lock: makes room for <paramref name="size"/> bytes by evicting entries not in use, and takes it;
    /// false when what is in use leaves too little. A file larger than the limit gets in when nothing else is held.</summary>
    private bool TryAdmit(long size)
    {
        if (Held + size > Limit && Held > 0) return false;
        EvictTo(Limit - size);
        Size += size;
        _files += size;
        return true;
    }

    /// <summary>Under the lock: lets in the waiting files that now fit, in order (cancelled ones are dropped).</summary>
    private void AdmitWaiting()
    {
        while (_waiting.TryPeek(out var next) && (next.Admitted.Task.IsCanceled || TryAdmit(next.Size)))
        {
            _waiting.Dequeue();
            if (next.Admitted.Task.IsCanceled) continue;
            if (!next.Admitted.TrySetResult())
            {
                Size -= next.Size;
                _files -= next.Size;
            }
        }
    }

    private void Unpin(LinkedListNode<Entry> node)
    {
        lock (_lock)
        {
            if (--node.Value.Readers == 0) _inUse -= node.Value.Size;
            AdmitWaiting();
        }
    }

    /// <summary>Under the lock: bytes no eviction can free (files, entries being read, puts being written).</summary>
    private long Held => _files + _inUse + _writing;

    /// <summary>Under the lock: evicts entries not in use, least recently used first, until <see cref="Size"/> is at
    /// most <paramref name="target"/> or none is left to evict.</summary>
    private void EvictTo(long target)
    {
        for (var node = _lru.First; node is not null && Size > target;)
        {
            var next = node.Next;
            if (node.Value.Readers == 0)
            {
                _lru.Remove(node);
                _index.Remove(node.Value.File);
                Size -= node.Value.Size;
                TryDelete(node.Value.File);
            }
            node = next;
        }
    }

    private void Forget(string file)
    {
        lock (_lock)
        {
            if (!_index.Remove(file, out var node)) return;
            _lru.Remove(node);
            Size -= node.Value.Size;
            AdmitWaiting();
        }
    }

    private string FileFor(string key) =>
        Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))) + EntrySuffix);

    internal static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed class Entry(string file, long size)
    {
        public string File { get; } = file;
        public long Size { get; } = size;
        /// <summary>Open streams of this entry (guarded by the cache's lock): in use, not evicted.</summary>
        public int Readers { get; set; }
    }

    /// <summary>An entry's stream: closing it ends the entry's use.</summary>
    private sealed class EntryStream(FileStream inner, Action closed) : Stream
    {
        private int _closed;

        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
            {
                inner.Dispose();
                closed();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                await inner.DisposeAsync().ConfigureAwait(false);
                closed();
            }
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// A file in a <see cref="DiskCache"/> that its owner writes (a download waiting for its processor): never evicted.
/// Reserve its room before writing it; dispose of it to delete it and give the room back, or move it out.
/// </summary>
public sealed class CacheFile : IDisposable
{
    private readonly DiskCache _cache;
    private long _room;
    private bool _gone;

    internal CacheFile(DiskCache cache, string path)
    {
        _cache = cache;
        Path = path;
    }

    /// <summary>Where to write it: a file of the cache's folder (not created).</summary>
    public string Path { get; }

    /// <summary>Room held now.</summary>
    public long Room => _room;

    /// <summary>Waits until <paramref name="size"/> bytes fit in the cache, and takes them for this file. Once, before
    /// its bytes are written; a file of unknown size takes its room as it is known (<see cref="Account"/>).</summary>
    public async ValueTask ReserveAsync(long size, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ObjectDisposedException.ThrowIf(_gone, this);
        await _cache.ReserveAsync(size, cancellationToken).ConfigureAwait(false);
        _room += size;
    }

    /// <summary>Makes the room held cover <paramref name="length"/> bytes (what is on disk), taking more without
    /// waiting when the file outgrew its reservation.</summary>
    public void Account(long length)
    {
        if (length <= _room) return;
        _cache.Grow(length - _room);
        _room = length;
    }

    /// <summary>Moves the file out of the cache (to <paramref name="target"/>, replaced if it exists) and gives its room back.</summary>
    public void MoveTo(string target)
    {
        File.Move(Path, target, overwrite: true);
        Release();
    }

    /// <summary>Deletes the file (if it is still there) and gives its room back.</summary>
    public void Dispose()
    {
        if (_gone) return;
        DiskCache.TryDelete(Path);
        Release();
    }

    private void Release()
    {
        _gone = true;
        if (_room > 0) _cache.ReleaseFile(_room);
        _room = 0;
    }
}
