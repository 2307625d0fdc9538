using System.Text.Json;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Manifest.Sqlite;

namespace LoadPipe.Manifest.Tests;

public sealed class SqliteManifestTests : ManifestContractTests
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lp-manifest-test-").FullName;

    private string DatabasePath => Path.Combine(_folder, "m.db");

    protected override async Task<IManifest> OpenAsync(TimeProvider? time = null) => await SqliteManifest.OpenAsync(DatabasePath, time);

    protected override (string Backend, string Target) OtherProcessTarget => ("sqlite", DatabasePath);

    public override Task DisposeAsync()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TryLock_HolderProcessGone_IsTakenOver()
    {
        await using var m = await OpenAsync();
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + DatabasePath))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = $"INSERT INTO locks(lock_id, pid, pid_start) VALUES ({Key.LockId}, 2147483000, 1)";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var taken = await m.TryLockAsync(Key);

        Assert.NotNull(taken);
    }

    [Fact]
    public async Task Open_LocalPathsKeyedWithoutHost_AreKeyedWithThisHostAndStillFound()
    {
        // A manifest as lp left it before local keys named their host: a completed copy between local paths, and one
        // from a remote to a local folder.
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + DatabasePath + ";Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version(version) VALUES (1), (2), (3), (4);"
                + string.Join(";", Migrations.Steps[..4]) + ";" + """
        INSERT INTO sessions(id, command, source, destination, status, started_at) VALUES (1, 'copy', '/data/in', 's3:b/p', 'completed', 1);
        INSERT INTO transfers(session_id, source, destination, pipeline, source_size, status, updated_at)
            VALUES (1, '/data/in/a.bin', '/backup/a.bin', '', 5, 'Completed', 1), (1, 's3:b/p/c.bin', '/backup/c.bin', 'zstd', 7, 'Completed', 1);
        """;
            await cmd.ExecuteNonQueryAsync();
        }

        await using var m = await OpenAsync();

        var local = await m.FindTransferAsync(new TransferKey(Location.LocalKey("/data/in/a.bin"), Location.LocalKey("/backup/a.bin"), ""));
        var remote = await m.FindTransferAsync(new TransferKey("s3:b/p/c.bin", Location.LocalKey("/backup/c.bin"), "zstd"));
        Assert.NotNull(local);
        Assert.NotNull(remote);
        Assert.Equal((TransferStatus.Completed, 5L), (local.Status, local.Source.Size));
        Assert.Equal((TransferStatus.Completed, 7L), (remote.Status, remote.Source.Size));
        Assert.Null(await m.FindTransferAsync(new TransferKey("/data/in/a.bin", "/backup/a.bin", "")));
        var session = await m.GetSessionAsync(1);
        Assert.NotNull(session);
        Assert.Equal(("file://" + Location.ThisHost + "/data/in", "s3:b/p"), (session.Source, session.Destination));
    }

    [Fact]
    public async Task Open_FormerQuotaAndHistoryTables_RowsMovedIntoAdapterStateAndTablesDropped()
    {
        // A manifest as lp left it before adapter state: the first three steps, with YouTube's rows.
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + DatabasePath + ";Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version(version) VALUES (1), (2), (3);"
                + string.Join(";", Migrations.Steps[..3]) + ";" + """
        INSERT INTO quota_spent(account, day, units, updated_at) VALUES ('youtube-units:ch', '2026-11-23', 3200, 1790000000000);
        INSERT INTO upload_history(account, md5, remote_id, source, size, title, uploaded_at)
            VALUES ('youtube:ch', 'abc', 'vid1', 'gdrive:a.mp4', 1234, 'talk', 1790000000123), ('youtube:ch', 'def', 'vid2', 'b.mp4', 5, NULL, 1790000000000);
        """;
            await cmd.ExecuteNonQueryAsync();
        }

        await using var m = await OpenAsync();
        var state = (IAdapterStateStore)m;

        Assert.Equal("3200", await state.GetStateAsync("youtube-units:ch", "quota/2026-11-23"));
        var uploads = await state.ListStateAsync("youtube:ch", "upload/").ToListAsync();
        Assert.Equal(["upload/abc", "upload/def"], uploads.Select(u => u.Key));
        using (var talk = JsonDocument.Parse(uploads[0].Value))
        {
            var e = talk.RootElement;
            Assert.Equal(("vid1", "gdrive:a.mp4", 1234L, "talk", 1_790_000_000_123L),
                (e.GetProperty("videoId").GetString(), e.GetProperty("source").GetString(), e.GetProperty("size").GetInt64(),
                    e.GetProperty("title").GetString(), e.GetProperty("uploadedAt").GetInt64()));
        }
        using (var untitled = JsonDocument.Parse(uploads[1].Value))
            Assert.Equal(JsonValueKind.Null, untitled.RootElement.GetProperty("title").ValueKind);
        await using var probe = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + DatabasePath + ";Pooling=False");
        await probe.OpenAsync();
        await using var tables = probe.CreateCommand();
        tables.CommandText = "SELECT count(*) FROM sqlite_master WHERE name IN ('quota_spent', 'upload_history')";
        Assert.Equal(0L, await tables.ExecuteScalarAsync());
    }
}
