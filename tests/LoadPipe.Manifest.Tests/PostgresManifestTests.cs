using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Manifest.Postgres;
using LoadPipe.Manifest.Tests.Support;
using Npgsql;

namespace LoadPipe.Manifest.Tests;

/// <summary>The contract against a real PostgreSQL server (LP_TEST_POSTGRES), each test in a database of its own.</summary>
public sealed class PostgresManifestTests : ManifestContractTests
{
    private PostgresTestDatabase? _database;

    private PostgresTestDatabase Database => _database ?? throw new InvalidOperationException("the test database was not created");

    public override async Task InitializeAsync() => _database = await PostgresTestDatabase.CreateAsync();

    public override async Task DisposeAsync()
    {
        if (_database is not null) await _database.DisposeAsync();
    }

    protected override async Task<IManifest> OpenAsync(TimeProvider? time = null) => await PostgresManifest.OpenAsync(Database.ConnectionString, time);

    protected override (string Backend, string Target) OtherProcessTarget => ("postgres", Database.ConnectionString);

    [Fact]
    public async Task TryLock_HeldByAnotherConnection_RefusedUntilThatConnectionCloses()
    {
        await using var m = await OpenAsync();
        await using var other = await Database.OpenUnpooledAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({Key.LockId})", other))
            await take.ExecuteNonQueryAsync();

        var whileOpen = await m.TryLockAsync(Key);
        await other.CloseAsync(); // what the kernel does to the sockets of a process that dies
        await using var afterClose = await Eventually.NotNullAsync(() => m.TryLockAsync(Key));

        Assert.Null(whileOpen);
        Assert.NotNull(afterClose);
    }

    [Fact]
    public async Task TryLock_Held_IsAnAdvisoryLockOtherSessionsCannotTake()
    {
        await using var m = await OpenAsync();
        await using var other = await Database.OpenUnpooledAsync();
        await using var probe = new NpgsqlCommand($"SELECT pg_try_advisory_lock({Key.LockId})", other);

        bool duringHold;
        await using (var held = await m.TryLockAsync(Key))
        {
            Assert.NotNull(held);
            duringHold = (bool)(await probe.ExecuteScalarAsync())!;
        }
        var afterRelease = (bool)(await probe.ExecuteScalarAsync())!;

        Assert.False(duringHold);
        Assert.True(afterRelease);
    }

    private const string AdvisoryLocksHere =
        "FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

    [Fact]
    public async Task TryLock_TwoThousandTransfersHeldAtOnce_OneConnectionHoldsAllTheirLocks()
    {
        await using var m = await OpenAsync();
        var keys = Enumerable.Range(0, 2000).Select(i => new TransferKey($"/src/f{i:D4}", $"/dst/f{i:D4}", "")).ToList();

        // As the engine takes them, all at once: each transfer's lock, then its destination's.
        var held = await Task.WhenAll(keys.Select(async k =>
            (Transfer: await m.TryLockAsync(k), Destination: await m.TryLockAsync(ManifestQueries.DestinationLock(k.Destination)))));
        var connections = (long)(await Database.ScalarAsync(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))!;
        var locksHeld = (long)(await Database.ScalarAsync("SELECT count(*) " + AdvisoryLocksHere + " AND granted"))!;
        var holders = (long)(await Database.ScalarAsync("SELECT count(DISTINCT pid) " + AdvisoryLocksHere))!;
        var takenElsewhere = (bool)(await Database.ScalarAsync($"SELECT pg_try_advisory_lock({keys[1234].LockId})"))!;
        foreach (var (transfer, destination) in held)
        {
            await destination!.DisposeAsync();
            await transfer!.DisposeAsync();
        }
        var locksAfter = (long)(await Database.ScalarAsync("SELECT count(*) " + AdvisoryLocksHere))!;

        Assert.All(held, h => Assert.True(h.Transfer is not null && h.Destination is not null));
        Assert.Equal(4000, locksHeld);
        Assert.Equal(1, holders);
        // The lock connection and the pool's one connection: far below PostgreSQL's default max_connections (100).
        Assert.InRange(connections, 1, 3);
        Assert.False(takenElsewhere);
        Assert.Equal(0, locksAfter);
    }

    [Fact]
    public async Task TryLock_LockConnectionKilled_ItsLocksAreLostAndTheNextLockReconnects()
    {
        await using var m = await OpenAsync();
        var before = await m.TryLockAsync(Key);
        Assert.NotNull(before);

        await Database.ScalarAsync("SELECT pg_terminate_backend(pid) " + AdvisoryLocksHere);
        await using var other = await Database.OpenUnpooledAsync();
        await using var probe = new NpgsqlCommand($"SELECT pg_try_advisory_lock({Key.LockId})", other);
        var takenElsewhere = await Eventually.NotNullAsync(async () => (bool)(await probe.ExecuteScalarAsync())! ? "taken" : null);
        await using var after = await m.TryLockAsync(Key with { Source = "/src/b" });
        await before.DisposeAsync();
        var stillElsewhere = (long)(await Database.ScalarAsync($"SELECT count(*) {AdvisoryLocksHere} AND objid = {(uint)Key.LockId} AND granted"))!;

        Assert.NotNull(takenElsewhere);
        Assert.NotNull(after);
        Assert.Equal(1, stillElsewhere);
    }

    [Fact]
    public async Task Open_ManyAtOnceOnEmptyDatabase_MigratesOnce()
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => OpenAsync()));
        foreach (var m in opened) await m.DisposeAsync();

        // One row per step: a step applied twice would show as a repeated version.
        Assert.Equal(0L, await Database.ScalarAsync("SELECT count(*) - count(DISTINCT version) FROM schema_version"));
        Assert.Equal(Migrations.Steps.Length, await Database.ScalarAsync("SELECT max(version) FROM schema_version"));
    }

    [Fact]
    public async Task Open_SchemaNewerThanThisLp_UsageError()
    {
        await (await OpenAsync()).DisposeAsync();
        await Database.ScalarAsync("INSERT INTO schema_version(version) VALUES (99)");

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => OpenAsync());

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("upgrade lp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_UrlWithPassword_WorksAndDescriptionLeavesPasswordOut()
    {
        var b = Database.Builder;
        var url = $"postgresql://{b.Username}:s3cr%40t@{b.Host}:{b.Port}/{b.Database}?application_name=lp-test&sslmode=disable";

        await using var m = await PostgresManifest.OpenAsync(url);
        await m.BeginSessionAsync(new SessionStart("copy", "/src", "/dst"));

        Assert.Equal($"postgresql://{b.Username}@{b.Host}:{b.Port}/{b.Database}", m.Description);
        Assert.Single(await m.ListSessionsAsync(10).ToListAsync());
    }

    [Fact]
    public async Task Open_DatabaseMissing_UsageErrorNamingIt()
    {
        var b = Database.Builder;
        b.Database = Database.Name + "_missing";
        b.Password = "s3cret";

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => PostgresManifest.OpenAsync(b.ConnectionString));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains(b.Database, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_FormerQuotaAndHistoryTables_RowsMovedIntoAdapterStateAndTablesDropped()
    {
        // A manifest as lp left it before adapter state: the first two steps, with YouTube's rows.
        await Database.ScalarAsync("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version(version) VALUES (1), (2);"
            + string.Join(";", Migrations.Steps[..2]) + ";" + """
        INSERT INTO quota_spent(account, day, units, updated_at) VALUES ('youtube-units:ch', '2026-11-23', 3200, 1790000000000);
        INSERT INTO upload_history(account, md5, remote_id, source, size, title, uploaded_at)
            VALUES ('youtube:ch', 'abc', 'vid1', 'gdrive:a.mp4', 1234, 'talk', 1790000000123), ('youtube:ch', 'def', 'vid2', 'b.mp4', 5, NULL, 1790000000000);
        """);

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
        Assert.Equal(0L, await Database.ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('quota_spent', 'upload_history')"));
    }
}
