using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;
using LoadPipe.Manifest.Sqlite;
using Microsoft.Data.Sqlite;

namespace LoadPipe.Manifest.Tests;

/// <summary>
/// The SQLite manifest's group commit: durable writes that wait at the same time share one synced commit, each keeps
/// its own outcome, and a batch that cannot commit fails every caller in it with nothing of their writes left. The
/// writes are made to wait together without timing: another connection holds SQLite's write lock while they are
/// issued, so the first batch cannot commit before every write is queued.
/// </summary>
public sealed class SqliteGroupCommitTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lp-group-commit-test-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PutStateDurably_ManyAtOnce_ShareAtMostTwoCommits_AndEveryOneIsDurable()
    {
        var path = Path.Combine(_folder, "m.db");
        await using (var manifest = await SqliteManifest.OpenAsync(path))
        {
            Task[] puts;
            await using (await WriteLockAsync(path))
                puts = [.. Enumerable.Range(0, 32).Select(i => manifest.PutStateDurablyAsync("ingest:files", $"f{i:D2}", $"v{i}"))];
            await Task.WhenAll(puts);

            // The first batch took what had arrived when it began; every other write waited for the next one.
            Assert.Equal(32, manifest.CommitWrites);
            Assert.InRange(manifest.CommitBatches, 1, 2);
        }

        await using var reopened = await SqliteManifest.OpenAsync(path);
        var stored = await reopened.ListStateAsync("ingest:files").Select(e => $"{e.Key}={e.Value}").ToListAsync();
        Assert.Equal(Enumerable.Range(0, 32).Select(i => $"f{i:D2}=v{i}"), stored);
    }

    [Fact]
    public async Task DurableWrites_OneFailsInABatch_FailsAloneWithNothingLeft_AndTheOthersAreRecorded()
    {
        var path = Path.Combine(_folder, "m.db");
        await using var manifest = await SqliteManifest.OpenAsync(path);
        IUploadStore store = manifest;
        var session = await manifest.BeginSessionAsync(new SessionStart("upload", "push", "/dst"));
        var upload = await store.CreateUploadAsync(NewUpload("u1"), UploadRows.KeyOf("u1", "file://h/dst/u1.bin", ""), session);

        Task[] puts;
        Task wrongUpload;
        await using (await WriteLockAsync(path))
        {
            puts = [.. Enumerable.Range(0, 8).Select(i => manifest.PutStateDurablyAsync("s", $"k{i}", "v"))];
            // Writes u1's transfer and a chunk, then finds no upload "nope" and throws: its savepoint is rolled back.
            wrongUpload = store.RecordAppendAsync(upload.Lease, "nope", new UploadAppendRecord(10, [new ChunkRecord(0, 0, 10, null, "aa")], "state", true, null));
            puts = [.. puts, .. Enumerable.Range(8, 8).Select(i => manifest.PutStateDurablyAsync("s", $"k{i}", "v"))];
        }

        await Assert.ThrowsAsync<UploadNotFoundException>(() => wrongUpload);
        await Task.WhenAll(puts);
        Assert.Equal(16, await manifest.ListStateAsync("s").CountAsync());
        Assert.Empty(await manifest.GetChunksAsync(upload.TransferId));
        var transfer = await manifest.FindTransferAsync(UploadRows.KeyOf("u1", "file://h/dst/u1.bin", ""));
        Assert.Equal(0, transfer!.BytesConfirmed);
    }

    [Fact]
    public async Task DurableWrites_BatchCannotCommit_DiskFull_EachCallerFailsOrIsRecordedWhole_AndTheManifestGoesOn()
    {
        const string variable = "LP_TEST_SMALL_DISK";
        var smallDisk = Environment.GetEnvironmentVariable(variable);
        Assert.False(string.IsNullOrEmpty(smallDisk),
            $"{variable} is not set: run the tests with scripts/test.sh, which mounts a 4 MiB tmpfs for this test "
            + $"(or: mkdir -p /tmp/small && mount -t tmpfs -o size=4m tmpfs /tmp/small && export {variable}=/tmp/small)");
        var folder = Directory.CreateDirectory(Path.Combine(smallDisk, "lp-group-commit-" + Guid.NewGuid().ToString("N")));
        try
        {
            var path = Path.Combine(folder.FullName, "m.db");
            await using var manifest = await SqliteManifest.OpenAsync(path);
            await manifest.PutStateDurablyAsync("s", "before", "v");
            // Leave about 64 KiB: 16 writes of 32 KiB cannot all fit.
            var filler = Path.Combine(folder.FullName, "filler");
            await using (var fill = new FileStream(filler, FileMode.CreateNew))
            {
                var free = new DriveInfo(folder.FullName).AvailableFreeSpace;
                fill.SetLength(0);
                var block = new byte[64 << 10];
                for (var left = free - (64 << 10); left > 0; left -= block.Length)
                {
                    try { fill.Write(block, 0, (int)Math.Min(block.Length, left)); fill.Flush(); }
                    catch (IOException) { break; }
                }
            }
            var value = new string('x', 32 << 10);

            Task[] puts;
            await using (await WriteLockAsync(path))
                puts = [.. Enumerable.Range(0, 16).Select(i => manifest.PutStateDurablyAsync("s", $"k{i:D2}", value))];
            var outcomes = new List<bool>();
            foreach (var put in puts)
            {
                try
                {
                    await put;
                    outcomes.Add(true);
                }
                catch (SqliteException e) when (e.SqliteErrorCode is 13 /* SQLITE_FULL */ or 10 /* SQLITE_IOERR */)
                {
                    outcomes.Add(false);
                }
            }
            File.Delete(filler);

            Assert.Contains(false, outcomes);
            var stored = await manifest.ListStateAsync("s").Select(e => e.Key).ToListAsync();
            var expected = Enumerable.Range(0, 16).Where(i => outcomes[i]).Select(i => $"k{i:D2}").Prepend("before").Order(StringComparer.Ordinal);
            Assert.Equal(expected, stored);
            await manifest.PutStateDurablyAsync("s", "after", "v");
            Assert.Equal("v", await manifest.GetStateAsync("s", "after"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    private static NewUploadRecord NewUpload(string id) =>
        new(id, $"file://h/dst/{id}.bin", "", 100, new Dictionary<string, string>(), DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), null);

    /// <summary>Holds SQLite's write lock on <paramref name="path"/> from another connection until disposed.</summary>
    private static async Task<IAsyncDisposable> WriteLockAsync(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
        }
        return new Held(connection);
    }

    private sealed class Held(SqliteConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using (var commit = connection.CreateCommand())
            {
                commit.CommandText = "COMMIT";
                await commit.ExecuteNonQueryAsync();
            }
            await connection.DisposeAsync();
        }
    }
}
