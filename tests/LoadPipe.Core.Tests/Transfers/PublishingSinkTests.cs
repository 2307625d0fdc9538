using System.Collections.Concurrent;
using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Storage;
using LoadPipe.Core.Tests.Support;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Transfers;

/// <summary>The engine's hooks for a publishing sink (YouTube): the quota stop and the duplicate check.</summary>
public sealed class PublishingSinkTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TransferOptions Options() => new()
    {
        ChunkSize = 64 << 10,
        Transfers = 1,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        Metadata = new Dictionary<string, string> { ["title"] = "T" },
    };

    [Fact]
    public async Task Copy_QuotaErrorOnAFile_LaterFilesDoNotStartAndAreRecordedFailed()
    {
        for (var i = 0; i < 4; i++) _dir.Write($"src/f{i}.bin", TestData.Random(1000 + i));
        var sink = new PublishingSink(new LocalStorage(), allowedWrites: 1);
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);

        var summary = await new TransferEngine(manifest).CopyAsync(new Location(new LocalStorage(), _dir["src"], _dir["src"]),
            new Location(sink, _dir["out"], _dir["out"], IsFolderHint: true), Options());

        Assert.Equal((SessionStatus.Partial, 4, 3), (summary.Status, summary.Files, summary.FilesFailed));
        Assert.Equal(2, sink.Begun);
        Assert.Equal("quota gone for today", summary.StopReason);
        Assert.All(summary.Failures, f => Assert.Equal(ErrorKind.Quota, f.ErrorKind));
        Assert.Equal(["quota gone for today", "not started: quota gone for today", "not started: quota gone for today"],
            summary.Failures.Select(f => f.Error));
        var failed = await manifest.ListTransfersAsync(summary.Session).Where(t => t.Status == TransferStatus.Failed).ToListAsync();
        Assert.Equal(3, failed.Count);
    }

    [Fact]
    public async Task Copy_SinkHoldsTheContent_SkippedWithItsPropertiesNothingWritten()
    {
        var content = TestData.Random(5000);
        _dir.Write("a.bin", content);
        _dir.Write("b.bin", content);
        var sink = new PublishingSink(new LocalStorage(), allowedWrites: 10);
        await using var manifest = await SqliteManifest.OpenAsync(_dir["manifest.db"]);
        var engine = new TransferEngine(manifest);

        var first = await engine.CopyAsync(new Location(new LocalStorage(), _dir["a.bin"], _dir["a.bin"]), new Location(sink, _dir["out/a.bin"], _dir["out/a.bin"]), Options());
        var second = await engine.CopyAsync(new Location(new LocalStorage(), _dir["b.bin"], _dir["b.bin"]), new Location(sink, _dir["out/b.bin"], _dir["out/b.bin"]), Options());

        Assert.Equal((SessionStatus.Completed, 0), (first.Status, first.FilesSkipped));
        Assert.Equal((SessionStatus.Completed, 1, 0L), (second.Status, second.FilesSkipped, second.BytesSent));
        Assert.Equal(1, sink.Begun);
        Assert.False(File.Exists(_dir["out/b.bin"]));
        var md5 = Convert.ToHexStringLower(MD5.HashData(content));
        Assert.Equal(md5, Assert.Single(sink.Remembered).Key);
        Assert.Equal("T", sink.LastMetadata!["title"]);
        Assert.Equal(md5, sink.LastLookup);
    }

    /// <summary>A local folder that allows a number of new writes and knows its content by MD5, like a channel.</summary>
    private sealed class PublishingSink(LocalStorage inner, int allowedWrites) : IStorage, IWritableStorage, IDeduplicatingWriter
    {
        private int _begun;

        public int Begun => _begun;

        public ConcurrentDictionary<string, string> Remembered { get; } = new();

        public IReadOnlyDictionary<string, string>? LastMetadata { get; private set; }

        public string? LastLookup { get; private set; }

        public string Description => "publishing";

        public IAsyncEnumerable<ObjectInfo> ListAsync(string path, bool recursive, CancellationToken cancellationToken = default) => inner.ListAsync(path, recursive, cancellationToken);

        public Task<ObjectInfo?> StatAsync(string path, CancellationToken cancellationToken = default) => inner.StatAsync(path, cancellationToken);

        public Task<Stream> OpenReadAsync(string path, ReadOptions options, CancellationToken cancellationToken = default) => inner.OpenReadAsync(path, options, cancellationToken);

        public Task CreateFolderAsync(string path, CancellationToken cancellationToken = default) => inner.CreateFolderAsync(path, cancellationToken);

        public Task<IWriteSession> BeginWriteAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
        {
            LastMetadata = request.Metadata;
            if (Interlocked.Increment(ref _begun) > allowedWrites) throw new LoadPipeException(ErrorKind.Quota, "quota gone for today");
            return inner.BeginWriteAsync(path, request, cancellationToken);
        }

        public Task<ObjectInfo?> FindDuplicateAsync(string path, WriteRequest request, CancellationToken cancellationToken = default)
        {
            LastLookup = request.Hashes.GetValueOrDefault("md5");
            return Task.FromResult(LastLookup is not null && Remembered.TryGetValue(LastLookup, out var where)
                ? new ObjectInfo { Path = where, Properties = new Dictionary<string, string> { ["id"] = where } }
                : null);
        }

        public Task RememberAsync(string path, WriteRequest written, ObjectInfo committed, CancellationToken cancellationToken = default)
        {
            Remembered[written.Hashes["md5"]] = path;
            return Task.CompletedTask;
        }
    }
}
