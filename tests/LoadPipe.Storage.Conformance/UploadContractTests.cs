using System.Security.Cryptography;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;

namespace LoadPipe.Storage.Conformance;

/// <summary>
/// The push entry (<see cref="UploadService"/>) over one store: each writable adapter's test project runs every case
/// through a subclass that says how to open the manifest and where its objects go. Every instance of the service a
/// test opens on the same manifest stands for another process.
/// </summary>
public abstract class UploadContractTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _opened = [];

    /// <summary>Opens this test's manifest; each call is another instance over the same state.</summary>
    protected abstract Task<IManifest> OpenManifestAsync();

    /// <summary>A resolver that knows this store.</summary>
    protected abstract LocationResolver Resolver { get; }

    /// <summary>The location text of an object named <paramref name="name"/>, in a place of this test's own.</summary>
    protected abstract string Destination(string name);

    /// <summary>The object's bytes, or null when there is none.</summary>
    protected abstract Task<byte[]?> ReadObjectAsync(string name);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        for (var i = _opened.Count - 1; i >= 0; i--) await _opened[i].DisposeAsync();
    }

    /// <summary>A service as a new process would make one: its own manifest instance.</summary>
    protected async Task<UploadService> OpenServiceAsync(UploadServiceOptions? options = null)
    {
        var manifest = await OpenManifestAsync();
        _opened.Add(manifest);
        var service = new UploadService(manifest, Resolver.Resolve, options: options);
        _opened.Add(service);
        return service;
    }

    protected static byte[] Bytes(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private Task<Upload> CreateAsync(UploadService uploads, string name, long? length, DateTimeOffset? expires = null) =>
        uploads.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination(name)), Length = length, Expires = expires });

    private static Task<Upload> AppendAsync(UploadService uploads, Upload upload, byte[] data, int start, int count, AppendOptions? options = null) =>
        uploads.AppendAsync(upload.Id, start, new MemoryStream(data, start, count, writable: false), options ?? AppendOptions.None);

    private async Task AssertObjectAsync(string name, byte[] expected, Upload done)
    {
        Assert.Equal(UploadStatus.Completed, done.Status);
        Assert.Equal(expected.Length, done.Offset);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), done.Sha256);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(expected)), done.Md5);
        var stored = await ReadObjectAsync(name);
        Assert.NotNull(stored);
        Assert.True(expected.AsSpan().SequenceEqual(stored), $"the object holds {stored.Length} other bytes than the {expected.Length} appended");
    }

    [Fact]
    public async Task Append_WholeFileCheckRefuses_NothingIsCompletedOrStored()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(300_000);
        var upload = await uploads.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination("checked.bin")), Length = data.Length });
        await uploads.AppendAsync(upload.Id, 0, new MemoryStream(data[..100_000]), AppendOptions.None);
        byte[]? seen = null;
        var refusing = new AppendOptions
        {
            CheckWhole = async (whole, ct) =>
            {
                using var copy = new MemoryStream();
                await whole.CopyToAsync(copy, ct);
                seen = copy.ToArray();
                throw new InvalidDataException("refused by the check");
            },
        };

        await Assert.ThrowsAsync<InvalidDataException>(() => uploads.AppendAsync(upload.Id, 100_000, new MemoryStream(data[100_000..]), refusing));

        Assert.Equal(SHA256.HashData(data), SHA256.HashData(seen!));
        var after = await uploads.GetAsync(upload.Id);
        Assert.Equal(UploadStatus.Open, after!.Status);
        Assert.Null(after.Sha256);
        Assert.Null(await ReadObjectAsync("checked.bin"));
    }

    [Fact]
    public async Task Append_WholeBody_CompletesTheObjectWithItsHashes()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(300_000);
        var upload = await CreateAsync(uploads, "whole.bin", data.Length);

        var done = await AppendAsync(uploads, upload, data, 0, data.Length);

        await AssertObjectAsync("whole.bin", data, done);
        var again = await uploads.GetAsync(upload.Id);
        Assert.Equal((UploadStatus.Completed, data.Length, done.Sha256), (again!.Status, again.Offset, again.Sha256));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(300_000)]
    public async Task Append_CompleteOnDeferredLength_DeclaresTheLengthAndCompletesInTheSameCall(int size)
    {
        var uploads = await OpenServiceAsync(new UploadServiceOptions { Md5 = false });
        var data = Bytes(size);
        var upload = await uploads.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination("one-call.bin")), Md5 = true, Provisional = true });

        var done = await AppendAsync(uploads, upload, data, 0, data.Length, new AppendOptions { Complete = true });

        await AssertObjectAsync("one-call.bin", data, done);
        Assert.Equal((UploadStatus.Completed, (long?)size, (long)size), (done.Status, done.Length, done.Offset));
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), done.Md5);
        var again = await uploads.GetAsync(upload.Id);
        Assert.Equal((UploadStatus.Completed, (long?)size, (long)size, done.Sha256), (again!.Status, again.Length, again.Offset, again.Sha256));
    }

    [Fact]
    public async Task Append_CompleteButTheClientGoesAway_KeepsWhatArrivedAndCompletesNothing()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(100_000);
        var upload = await uploads.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination("cut.bin")), Provisional = true });

        await Assert.ThrowsAsync<IOException>(() => uploads.AppendAsync(upload.Id, 0, new FailingStream(data, 60_000), new AppendOptions { Complete = true }));

        var kept = await uploads.GetAsync(upload.Id);
        Assert.Equal((UploadStatus.Open, (long?)null, 60_000L), (kept!.Status, kept.Length, kept.Offset));
        Assert.Null(await ReadObjectAsync("cut.bin"));
        // The rest, in a later append that completes it the usual way.
        var done = await AppendAsync(uploads, kept, data, 60_000, 40_000, new AppendOptions { Complete = true });
        await AssertObjectAsync("cut.bin", data, done);
    }

    [Fact]
    public async Task Append_ServiceWithoutMd5_RecordsTheSha256Only()
    {
        var uploads = await OpenServiceAsync(new UploadServiceOptions { Md5 = false });
        var data = Bytes(70_000);
        var upload = await CreateAsync(uploads, "sha-only.bin", data.Length);

        var done = await AppendAsync(uploads, upload, data, 0, 1_000);
        done = await AppendAsync(uploads, done, data, 1_000, data.Length - 1_000);

        Assert.Equal((UploadStatus.Completed, Convert.ToHexStringLower(SHA256.HashData(data)), (string?)null), (done.Status, done.Sha256, done.Md5));
        var stored = await ReadObjectAsync("sha-only.bin");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), Convert.ToHexStringLower(SHA256.HashData(stored!)));
    }

    [Fact]
    public async Task Append_ReportsTheHashesOfWhatItReceived_WithMd5WhenTheUploadAsksForIt()
    {
        var uploads = await OpenServiceAsync(new UploadServiceOptions { Md5 = false });
        var data = Bytes(90_000);
        var upload = await uploads.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination("received.bin")), Length = null, Md5 = true });

        var first = await AppendAsync(uploads, upload, data, 0, 25_000);
        var second = await AppendAsync(uploads, first, data, 25_000, data.Length - 25_000);
        var done = await uploads.DeclareLengthAsync(upload.Id, data.Length);

        Assert.Equal(new UploadHashes(Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(0, 25_000))), Convert.ToHexStringLower(MD5.HashData(data.AsSpan(0, 25_000)))),
            first.Received);
        Assert.Equal(new UploadHashes(Convert.ToHexStringLower(SHA256.HashData(data)), Convert.ToHexStringLower(MD5.HashData(data))), second.Received);
        // The completion records the same hashes, computed once.
        await AssertObjectAsync("received.bin", data, done);

        // Another process did not see the first bytes: it reports no hashes of what was received.
        var other = await uploads.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination("received-elsewhere.bin")), Length = null });
        await AppendAsync(uploads, other, data, 0, 10_000);
        var elsewhere = await AppendAsync(await OpenServiceAsync(), other, data, 10_000, 10_000);
        Assert.Null(elsewhere.Received);
    }

    [Fact]
    public async Task Append_AtOddOffsets_EachOffsetReportedAndTheObjectIsByteExact()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes((5 << 20) + 3 + 1 + 17 + 777_777);
        var upload = await CreateAsync(uploads, "odd.bin", data.Length);
        int[] cuts = [1, (5 << 20) + 3, 17];
        var offset = 0;

        foreach (var cut in cuts)
        {
            var after = await AppendAsync(uploads, upload, data, offset, cut);
            offset += cut;
            Assert.Equal((offset, UploadStatus.Open), (after.Offset, after.Status));
            Assert.Equal(offset, (await uploads.GetAsync(upload.Id))!.Offset);
        }
        Assert.Null(await ReadObjectAsync("odd.bin"));
        var done = await AppendAsync(uploads, upload, data, offset, data.Length - offset);

        await AssertObjectAsync("odd.bin", data, done);
    }

    [Fact]
    public async Task Append_ContinuedByAnotherProcess_HashesCoverTheEarlierBytes()
    {
        var data = Bytes((6 << 20) + 9_000, seed: 3);
        var first = await OpenServiceAsync();
        var upload = await CreateAsync(first, "continued.bin", data.Length);
        await AppendAsync(first, upload, data, 0, 4099);
        await AppendAsync(first, upload, data, 4099, 6 << 20);
        await first.DisposeAsync();

        var second = await OpenServiceAsync();
        var done = await AppendAsync(second, upload, data, 4099 + (6 << 20), data.Length - 4099 - (6 << 20));

        await AssertObjectAsync("continued.bin", data, done);
    }

    [Fact]
    public async Task Append_TwoProcessesTakingTurns_EachTakesTheTransferOverAndTheObjectIsWhole()
    {
        var data = Bytes((5 << 20) + 50_000, seed: 4);
        var a = await OpenServiceAsync();
        var b = await OpenServiceAsync();
        var upload = await CreateAsync(a, "turns.bin", data.Length);
        int[] cuts = [10, (5 << 20) - 5, 20_000];
        var offset = 0;

        for (var i = 0; i < cuts.Length; i++)
        {
            await AppendAsync(i % 2 == 0 ? a : b, upload, data, offset, cuts[i]);
            offset += cuts[i];
        }
        var done = await AppendAsync(b, upload, data, offset, data.Length - offset);

        await AssertObjectAsync("turns.bin", data, done);
    }

    [Fact]
    public async Task Append_WrongOffset_ConflictWithTheUploadsOffsetAndNothingRead()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(1000);
        var upload = await CreateAsync(uploads, "conflict.bin", data.Length);
        await AppendAsync(uploads, upload, data, 0, 10);
        var body = new MemoryStream(data, 20, 100);

        var e = await Assert.ThrowsAsync<UploadConflictException>(() => uploads.AppendAsync(upload.Id, 20, body, AppendOptions.None));

        Assert.Equal(10, e.Offset);
        Assert.Equal(0, body.Position);
        Assert.Equal(10, (await uploads.GetAsync(upload.Id))!.Offset);
    }

    [Fact]
    public async Task DeferredLength_DeclaredLater_CompletesAtThatLength()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(70_000);
        var upload = await CreateAsync(uploads, "deferred.bin", null);
        await AppendAsync(uploads, upload, data, 0, 30_000);

        var below = await Assert.ThrowsAsync<UploadConflictException>(() => uploads.DeclareLengthAsync(upload.Id, 29_999));
        var declared = await uploads.DeclareLengthAsync(upload.Id, data.Length);
        var other = await Assert.ThrowsAsync<UploadConflictException>(() => uploads.DeclareLengthAsync(upload.Id, data.Length + 1));
        var done = await AppendAsync(uploads, upload, data, 30_000, data.Length - 30_000);

        Assert.Equal(30_000, below.Offset);
        Assert.Equal(((long?)data.Length, UploadStatus.Open), (declared.Length, declared.Status));
        Assert.Equal(30_000, other.Offset);
        await AssertObjectAsync("deferred.bin", data, done);
    }

    [Fact]
    public async Task Append_ChecksumMismatch_KeepsNothingAndAMatchingOneIsKept()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes((5 << 20) + 100_000, seed: 5);
        var upload = await CreateAsync(uploads, "checksum.bin", data.Length);
        await AppendAsync(uploads, upload, data, 0, 50);
        var piece = data.AsSpan(50, (5 << 20) + 1).ToArray();
        var wrong = SHA1.HashData(piece);
        wrong[0] ^= 1;

        await Assert.ThrowsAsync<UploadChecksumException>(() => AppendAsync(uploads, upload, data, 50, piece.Length,
            new AppendOptions { Checksum = new BodyChecksum("sha1", wrong) }));
        Assert.Equal(50, (await uploads.GetAsync(upload.Id))!.Offset);
        var kept = await AppendAsync(uploads, upload, data, 50, piece.Length, new AppendOptions { Checksum = new BodyChecksum("sha1", SHA1.HashData(piece)) });
        var done = await AppendAsync(uploads, upload, data, 50 + piece.Length, data.Length - 50 - piece.Length,
            new AppendOptions { Checksum = new BodyChecksum("md5", MD5.HashData(data.AsSpan(50 + piece.Length))) });

        Assert.Equal(50 + piece.Length, kept.Offset);
        await AssertObjectAsync("checksum.bin", data, done);
    }

    [Fact]
    public async Task Append_PastMaxLength_KeepsUpToTheLimitAndReadsNoFurther()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(200_000);
        var upload = await CreateAsync(uploads, "limit.bin", data.Length);
        var body = new MemoryStream(data);

        await Assert.ThrowsAsync<UploadTooLargeException>(() => uploads.AppendAsync(upload.Id, 0, body, new AppendOptions { MaxLength = 70_000 }));

        Assert.Equal(70_000, (await uploads.GetAsync(upload.Id))!.Offset);
        Assert.True(body.Position <= 70_001, $"read {body.Position} bytes of a body limited to 70,000");
        var done = await AppendAsync(uploads, upload, data, 70_000, data.Length - 70_000);
        await AssertObjectAsync("limit.bin", data, done);
    }

    [Fact]
    public async Task Append_PastTheLength_KeepsTheLengthAndCompletes()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(50_000);
        var upload = await CreateAsync(uploads, "long.bin", 40_000);

        await Assert.ThrowsAsync<UploadTooLargeException>(() => AppendAsync(uploads, upload, data, 0, data.Length));

        var after = await uploads.GetAsync(upload.Id);
        await AssertObjectAsync("long.bin", data[..40_000], after!);
    }

    [Fact]
    public async Task Append_BodyFailsPartWay_KeepsWhatArrivedAndRethrows()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes(100_000);
        var upload = await CreateAsync(uploads, "cut.bin", data.Length);

        await Assert.ThrowsAsync<IOException>(() => uploads.AppendAsync(upload.Id, 0, new FailingStream(data, 33_333), AppendOptions.None));

        Assert.Equal(33_333, (await uploads.GetAsync(upload.Id))!.Offset);
        var done = await AppendAsync(uploads, upload, data, 33_333, data.Length - 33_333);
        await AssertObjectAsync("cut.bin", data, done);
    }

    [Fact]
    public async Task Append_WhileAnotherAppendRuns_IsBusy()
    {
        var uploads = await OpenServiceAsync();
        var other = await OpenServiceAsync();
        var data = Bytes(10_000);
        var upload = await CreateAsync(uploads, "busy.bin", data.Length);
        var held = new HeldStream(data, 4_000);

        var running = uploads.AppendAsync(upload.Id, 0, held, AppendOptions.None);
        await held.FirstReadDone;
        var busy = await Assert.ThrowsAnyAsync<LoadPipeException>(() => other.AppendAsync(upload.Id, 0, new MemoryStream(data), AppendOptions.None));
        held.Release();
        var done = await running;

        Assert.Equal(ErrorKind.Busy, busy.Kind);
        await AssertObjectAsync("busy.bin", data, done);
    }

    [Fact]
    public async Task Abort_DropsTheUploadAndWhatItReceived()
    {
        var uploads = await OpenServiceAsync();
        var data = Bytes((5 << 20) + 10);
        var upload = await CreateAsync(uploads, "aborted.bin", data.Length + 5);
        await AppendAsync(uploads, upload, data, 0, data.Length);

        var aborted = await uploads.AbortAsync(upload.Id);

        Assert.True(aborted);
        Assert.Null(await uploads.GetAsync(upload.Id));
        Assert.False(await uploads.AbortAsync(upload.Id));
        Assert.Null(await ReadObjectAsync("aborted.bin"));
        await Assert.ThrowsAsync<UploadNotFoundException>(() => uploads.AppendAsync(upload.Id, data.Length, new MemoryStream(new byte[5]), AppendOptions.None));
    }

    [Fact]
    public async Task ListExpired_OnlyOpenUploadsPastTheirExpiry()
    {
        var uploads = await OpenServiceAsync();
        var now = DateTimeOffset.UtcNow;
        var old = await CreateAsync(uploads, "old.bin", 10, now.AddHours(-2));
        var older = await CreateAsync(uploads, "older.bin", 10, now.AddHours(-3));
        await CreateAsync(uploads, "fresh.bin", 10, now.AddHours(1));
        await CreateAsync(uploads, "forever.bin", 10);
        var finished = await CreateAsync(uploads, "finished.bin", 1, now.AddHours(-1));
        await AppendAsync(uploads, finished, [7], 0, 1);

        var expired = await uploads.ListExpiredAsync(now, 10).ToListAsync();

        Assert.Equal([older.Id, old.Id], expired.Select(u => u.Id));
    }

    [Fact]
    public async Task Append_WithExpires_RenewsTheExpiryAndTheUploadIsNoLongerExpired()
    {
        var uploads = await OpenServiceAsync();
        var now = DateTimeOffset.UtcNow;
        var upload = await CreateAsync(uploads, "renewed.bin", 10, now.AddHours(-1));
        var renewed = DateTimeOffset.FromUnixTimeMilliseconds(now.AddHours(1).ToUnixTimeMilliseconds());

        var after = await AppendAsync(uploads, upload, Bytes(10), 0, 4, new AppendOptions { Expires = renewed });

        Assert.Equal(renewed, after.Expires);
        Assert.Equal(renewed, (await uploads.GetAsync(upload.Id))!.Expires);
        Assert.Empty(await uploads.ListExpiredAsync(now, 10).ToListAsync());
        // An append without one leaves it.
        await AppendAsync(uploads, upload, Bytes(10), 4, 2);
        Assert.Equal(renewed, (await uploads.GetAsync(upload.Id))!.Expires);
    }

    [Fact]
    public async Task Intermediate_CompletedAndExpired_IsListedAndItsAbortRemovesTheObject()
    {
        var uploads = await OpenServiceAsync();
        var now = DateTimeOffset.UtcNow;
        var upload = await uploads.CreateAsync(new NewUpload
        {
            Destination = Resolver.Resolve(Destination("staged.bin")), Length = 3, Expires = now.AddHours(-1), Intermediate = true,
        });
        var done = await AppendAsync(uploads, upload, [1, 2, 3], 0, 3);
        Assert.Equal((UploadStatus.Completed, true), (done.Status, done.Intermediate));
        Assert.NotNull(await ReadObjectAsync("staged.bin"));

        Assert.Equal([upload.Id], (await uploads.ListExpiredAsync(now, 10).ToListAsync()).Select(u => u.Id));
        Assert.True(await uploads.AbortAsync(upload.Id));

        Assert.Null(await ReadObjectAsync("staged.bin"));
        Assert.Null(await uploads.GetAsync(upload.Id));
    }

    [Fact]
    public async Task Append_ThroughZstd_EachAppendFramedOnItsOwnAndTheObjectDecodesToTheBody()
    {
        var first = await OpenServiceAsync();
        var data = Bytes((5 << 20) + 300_000, seed: 9);
        Array.Fill(data, (byte)'a', 1000, 3 << 20);
        var upload = await first.CreateAsync(new NewUpload { Destination = Resolver.Resolve(Destination("framed.zst")), Length = data.Length, Stages = ["zstd:1"] });
        await AppendAsync(first, upload, data, 0, 1);
        await AppendAsync(first, upload, data, 1, (5 << 20) + 3);
        await first.DisposeAsync();

        var second = await OpenServiceAsync();
        await AppendAsync(second, upload, data, (5 << 20) + 4, 17);
        var done = await AppendAsync(second, upload, data, (5 << 20) + 21, data.Length - (5 << 20) - 21);

        var stored = await ReadObjectAsync("framed.zst");
        Assert.NotNull(stored);
        using var decoded = new MemoryStream();
        await using (var zstd = new ZstdSharp.DecompressionStream(new MemoryStream(stored)))
            await zstd.CopyToAsync(decoded);
        Assert.True(data.AsSpan().SequenceEqual(decoded.ToArray()), "the object does not decode to the appended bytes");
        Assert.True(stored.Length < data.Length);
        Assert.Equal((UploadStatus.Completed, (long)data.Length), (done.Status, done.Offset));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(stored)), done.Sha256);
    }

    [Fact]
    public async Task Create_StageWithStateAcrossAppends_IsAUsageError()
    {
        var uploads = await OpenServiceAsync();

        var e = await Assert.ThrowsAnyAsync<LoadPipeException>(() => uploads.CreateAsync(
            new NewUpload { Destination = Resolver.Resolve(Destination("replay.bin")), Length = 10, Stages = ["gunzip"] }));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("gunzip", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ZeroLength_IsCompletedAtOnce()
    {
        var uploads = await OpenServiceAsync();

        var upload = await CreateAsync(uploads, "empty.bin", 0);

        await AssertObjectAsync("empty.bin", [], upload);
    }

    [Fact]
    public async Task Create_SameDestinationWhileOpen_IsBusy()
    {
        var uploads = await OpenServiceAsync();
        await CreateAsync(uploads, "twice.bin", 10);

        var e = await Assert.ThrowsAnyAsync<LoadPipeException>(() => CreateAsync(uploads, "twice.bin", 10));

        Assert.Equal(ErrorKind.Busy, e.Kind);
    }

    /// <summary>Gives <paramref name="failAfter"/> bytes, then fails as a connection the client dropped does.</summary>
    private sealed class FailingStream(byte[] data, int failAfter) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter) throw new IOException("the client went away");
            var n = Math.Min(count, Math.Min(failAfter - _position, 10_000));
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Gives its first <paramref name="first"/> bytes, then waits for <see cref="Release"/> before the rest.</summary>
    private sealed class HeldStream(byte[] data, int first) : Stream
    {
        private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;

        public Task FirstReadDone => _firstRead.Task;

        public void Release() => _released.TrySetResult();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= first)
            {
                _firstRead.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }
            var end = _position < first ? first : data.Length;
            var n = Math.Min(buffer.Length, end - _position);
            data.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
