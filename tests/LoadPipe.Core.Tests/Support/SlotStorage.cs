using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;

namespace LoadPipe.Core.Tests.Support;

/// <summary>
/// A store whose write sessions take several chunks at once, like S3 parts: each chunk is written to its offset of a
/// real file. Writes are held until <see cref="MaxWritesInFlight"/> of them have arrived (or the last one has), then
/// acknowledged newest first, so the engine sees its chunks finish out of order. It records the most writes it saw
/// in flight, and what the manifest had confirmed when each write arrived.
/// </summary>
public sealed class SlotStorage(string folder, int maxWritesInFlight, IManifest manifest) : IStorage, IWritableStorage
{
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource> _held = [];
    private int _inFlight;

    public int MaxWritesInFlight => maxWritesInFlight;
    public int MostInFlight { get; private set; }
    public int? FailChunk { get; set; }

    /// <summary>For each chunk index written, the chunk sequences the manifest had confirmed by then.</summary>
    public List<(int Index, IReadOnlyList<int> Confirmed)> Seen { get; } = [];

    public string Description => "slots";

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        yield break;
    }

    public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult(File.Exists(Path.Combine(folder, path)) ? new ObjectInfo { Path = path, Size = new FileInfo(Path.Combine(folder, path)).Length } : null);

    public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) =>
        Task.FromResult<Stream>(File.OpenRead(Path.Combine(folder, path)));

    public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult<IWriteSession>(new Session(this, Path.Combine(folder, path), request.ExpectedSize));

    private sealed class Session(SlotStorage owner, string path, long expectedSize) : IConcurrentWriteSession
    {
        private readonly string _partial = path + ".slots";
        private long _written;

        public string? ResumeState => null;
        public int ChunkAlignment => 1;
        public long Length => Interlocked.Read(ref _written);
        public int MaxWritesInFlight => owner.MaxWritesInFlight;

        public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            WriteChunkAsync(-1, Length, data, cancellationToken);

        public async Task WriteChunkAsync(int index, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            var transfers = new List<int>();
            await foreach (var t in owner._manifestTransfers(cancellationToken)) transfers.AddRange(t);
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (owner._lock)
            {
                owner.Seen.Add((index, transfers));
                owner._inFlight++;
                owner.MostInFlight = Math.Max(owner.MostInFlight, owner._inFlight);
                owner._held.Add(gate);
                var last = expectedSize >= 0 && offset + data.Length >= expectedSize;
                if (owner._held.Count >= owner.MaxWritesInFlight || last)
                {
                    // Release newest first: the engine must still confirm in order.
                    for (var i = owner._held.Count - 1; i >= 0; i--) owner._held[i].SetResult();
                    owner._held.Clear();
                }
            }
            await gate.Task.WaitAsync(cancellationToken);
            lock (owner._lock) owner._inFlight--;
            if (index == owner.FailChunk) throw new LoadPipeException(ErrorKind.Permanent, $"injected failure of chunk {index}");
            using (var file = File.OpenHandle(_partial, FileMode.OpenOrCreate, FileAccess.Write))
                await RandomAccess.WriteAsync(file, data, offset, cancellationToken);
            Interlocked.Add(ref _written, data.Length);
        }

        public Task<Stream?> OpenWrittenAsync(CancellationToken cancellationToken = default) => Task.FromResult<Stream?>(null);

        public Task<ObjectInfo> CommitAsync(CancellationToken cancellationToken = default)
        {
            File.Move(_partial, path, overwrite: true);
            return Task.FromResult(new ObjectInfo { Path = path, Size = new FileInfo(path).Length });
        }

        public Task AbortAsync(CancellationToken cancellationToken = default)
        {
            File.Delete(_partial);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private async IAsyncEnumerable<IReadOnlyList<int>> _manifestTransfers([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var transfer in manifest.ListTransfersAsync(null, cancellationToken))
            yield return (await manifest.GetChunksAsync(transfer.Id, cancellationToken)).Select(c => c.Sequence).ToList();
    }
}
