using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using Npgsql;

namespace LoadPipe.Manifest.Postgres;

/// <summary>
/// The manifest that many processes on many machines share: one PostgreSQL database, the same tables and behaviour
/// as the SQLite manifest. Each call runs one command on a pooled connection; a call that changes several rows does
/// it in one statement (data-modifying WITH clauses), so it is one transaction and one round trip. Transfer locks are
/// session-level advisory locks, all held on one connection of this instance (<see cref="TryLockAsync"/>), which
/// PostgreSQL drops with the connection of a process that dies.
/// </summary>
public sealed partial class PostgresManifest : IManifest, IAdapterStateStore
{
    // The two-int advisory key space (classid 'LP', objid 1) is apart from the bigint keys of transfer locks.
    private const int MigrationLockClass = 0x4C50;
    private const int MigrationLockObject = 1;

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _lockSource;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<long, byte> _held = new();

    // Every lock this instance holds lives on one connection (_locks), used by one call at a time.
    private readonly SemaphoreSlim _lockGate = new(1, 1);
    private LockSession? _locks;
    private bool _disposed;

    private PostgresManifest(NpgsqlConnectionStringBuilder target, TimeProvider time)
    {
        _time = time;
        Description = PostgresTarget.Describe(target);
        if (string.IsNullOrEmpty(target.ApplicationName)) target.ApplicationName = "lp";
        // The manifest's statements are few and fixed, and each runs thousands of times (a worker runs ~14 per job):
        // prepared once per pooled connection, PostgreSQL parses and plans each once, not at every call (bench/queue.sh,
        // one worker: the server's CPU per empty job ~5 -> ~2.5 ms). Each statement's result names its columns, so
        // a migration adding a column does not change a prepared statement's result. A pooled connection keeps no
        // session state (locks and LISTEN live on connections of their own), so it is handed back without a reset
        // (DISCARD ALL, 10 per job). A connection string that sets either keeps its own.
        // (The builder's connection string lists the keys that were set, by their canonical names.)
        var given = target.ConnectionString;
        if (!given.Contains("Max Auto Prepare", StringComparison.OrdinalIgnoreCase)) target.MaxAutoPrepare = 64;
        if (!given.Contains("No Reset On Close", StringComparison.OrdinalIgnoreCase)) target.NoResetOnClose = true;
        _dataSource = NpgsqlDataSource.Create(target);

        // Locks: one connection of their own, never pooled, so closing it ends the session and its locks. The
        // server-side keepalives make PostgreSQL notice within about two minutes a holder whose machine went away
        // without closing its socket (power loss), where the operating system's default would wait two hours.
        var locks = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Pooling = false };
        locks.Options = (locks.Options + " -c tcp_keepalives_idle=60 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=6").Trim();
        _lockSource = NpgsqlDataSource.Create(locks);
    }

    /// <summary>Where the manifest lives: <c>postgresql://user@host:port/db</c>, without the password.</summary>
    public string Description { get; }

    /// <summary>
    /// True when <paramref name="manifest"/> names a PostgreSQL database: a <c>postgres://</c> or <c>postgresql://</c>
    /// URL or a connection string with a <c>Host=</c> key. Anything else is a SQLite file path.
    /// </summary>
    public static bool Recognizes(string manifest) => PostgresTarget.Recognizes(manifest);

    /// <summary>
    /// Connects to the database named by <paramref name="connectionStringOrUrl"/> (see <see cref="Recognizes"/>) and
    /// brings its schema up to date. The database must exist; the tables are created in it. Throws
    /// <see cref="LoadPipeException"/> (<see cref="ErrorKind.Usage"/>) with a one-line message and no password when
    /// the value does not parse or the server cannot be reached or refuses.
    /// </summary>
    public static async Task<PostgresManifest> OpenAsync(string connectionStringOrUrl, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var target = PostgresTarget.Parse(connectionStringOrUrl);
        var manifest = new PostgresManifest(target, time ?? TimeProvider.System);
        try
        {
            await manifest.MigrateAsync(cancellationToken).ConfigureAwait(false);
            return manifest;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or ArgumentException or InvalidOperationException)
        {
            await manifest.DisposeAsync().ConfigureAwait(false);
            var reason = PostgresTarget.Redact(PostgresTarget.FirstLine(e.Message), target.Password);
            throw new LoadPipeException(ErrorKind.Usage, $"manifest {manifest.Description}: cannot open ({reason})", e);
        }
        catch
        {
            await manifest.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Applies the missing steps of <see cref="Migrations"/> in one transaction. The transaction-level advisory lock
    /// makes processes that start at once take turns: the second finds the schema the first made.
    /// </summary>
    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@class, @object)", connection, tx))
        {
            lockCmd.Parameters.AddWithValue("class", MigrationLockClass);
            lockCmd.Parameters.AddWithValue("object", MigrationLockObject);
            await lockCmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", connection, tx))
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        int current;
        await using (var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version", connection, tx))
            current = (int)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        if (current > Migrations.Steps.Length)
            throw new LoadPipeException(ErrorKind.Usage, $"manifest {Description} has schema version {current}, newer than this lp knows ({Migrations.Steps.Length}): upgrade lp");
        for (var v = current; v < Migrations.Steps.Length; v++)
        {
            await using var step = new NpgsqlCommand(Migrations.Steps[v] + $"; INSERT INTO schema_version(version) VALUES ({v + 1});", connection, tx);
            await step.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> BeginSessionAsync(SessionStart start, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("""
            INSERT INTO sessions(command, source, destination, project, config, started_at)
            VALUES (@command, @source, @destination, @project, @config, @now) RETURNING id
            """,
            ("command", start.Command), ("source", start.Source), ("destination", start.Destination),
            ("project", start.Project), ("config", start.ConfigSnapshot), ("now", Now()));
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public Task EndSessionAsync(long sessionId, SessionSummary summary, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            UPDATE sessions SET status = @status, finished_at = @now, files = @files, files_skipped = @skipped,
                files_failed = @failed, bytes = @bytes, bytes_sent = @sent WHERE id = @id
            """, cancellationToken,
            ("status", summary.Status.Name()), ("now", Now()), ("files", summary.Files), ("skipped", summary.FilesSkipped),
            ("failed", summary.FilesFailed), ("bytes", summary.Bytes), ("sent", summary.BytesSent), ("id", sessionId));

    public Task RecordSessionCountsAsync(long sessionId, SessionCounts counts, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            UPDATE sessions SET files = @files, files_skipped = @skipped, files_failed = @failed, bytes = @bytes, bytes_sent = @sent WHERE id = @id
            """, cancellationToken,
            ("files", counts.Files), ("skipped", counts.FilesSkipped), ("failed", counts.FilesFailed), ("bytes", counts.Bytes),
            ("sent", counts.BytesSent), ("id", sessionId));

    /// <summary>
    /// <c>pg_try_advisory_lock(key.LockId)</c> on this instance's lock connection, the one connection that holds every
    /// lock it takes (2,000 transfers in flight hold their 4,000 locks on one connection, not 4,000 connections), until the
    /// handle is disposed (<c>pg_advisory_unlock</c>). A process that dies loses that connection, and PostgreSQL drops
    /// its locks at once. When the connection breaks while the process lives, every lock on it is lost together: the
    /// next call opens a new one, and a transfer another process takes meanwhile is fenced off from the one that held
    /// it by its epoch (<see cref="TransferLease"/>). Advisory locks are re-entrant within a session, so two tasks of
    /// this process are kept apart by a set of held keys before the server is asked, as in the SQLite manifest.
    /// </summary>
    public async Task<IAsyncDisposable?> TryLockAsync(TransferKey key, CancellationToken cancellationToken = default)
    {
        var id = key.LockId;
        if (!_held.TryAdd(id, 0)) return null;
        var taken = false;
        try
        {
            var locks = await OnLockConnectionAsync(async l => (taken = await l.RunAsync<bool>("SELECT pg_try_advisory_lock(@a)", id).ConfigureAwait(false)) ? l : null,
                cancellationToken).ConfigureAwait(false);
            return locks is null ? null : new Held(this, locks, id);
        }
        finally
        {
            if (!taken) _held.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Both locks in one statement on the lock connection, and let go in one (<see cref="IManifest.TryLockPairAsync"/>):
    /// the CASE tries the first, then the second, and lets the first go again when the second is held elsewhere, so the
    /// server answers 0 (both taken), 1 (the first is busy) or 2 (the second is busy; nothing held).
    /// </summary>
    public async Task<LockPair> TryLockPairAsync(TransferKey first, TransferKey second, CancellationToken cancellationToken = default)
    {
        var (a, b) = (first.LockId, second.LockId);
        if (!_held.TryAdd(a, 0)) return new LockPair(null, FirstBusy: true);
        if (!_held.TryAdd(b, 0))
        {
            _held.TryRemove(a, out _);
            return new LockPair(null, FirstBusy: false);
        }
        var answer = -1;
        try
        {
            var locks = await OnLockConnectionAsync(async l => (answer = await l.RunAsync<int>("""
                SELECT CASE WHEN NOT pg_try_advisory_lock(@a) THEN 1
                            WHEN NOT pg_try_advisory_lock(@b) THEN 2 + 0 * pg_advisory_unlock(@a)::int
                            ELSE 0 END
                """, a, b).ConfigureAwait(false)) == 0 ? l : null, cancellationToken).ConfigureAwait(false);
            return locks is null ? new LockPair(null, FirstBusy: answer == 1) : new LockPair(new Held(this, locks, a, b), FirstBusy: false);
        }
        finally
        {
            if (answer != 0)
            {
                _held.TryRemove(a, out _);
                _held.TryRemove(b, out _);
            }
        }
    }

    /// <summary>Runs <paramref name="take"/> on the lock connection, under the lock gate, opening the connection when there
    /// is none or it broke. Not cancelled once sent: a lock the server took while its answer was abandoned would stay held.</summary>
    private async Task<LockSession?> OnLockConnectionAsync(Func<LockSession, Task<LockSession?>> take, CancellationToken cancellationToken)
    {
        await _lockGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var attempt = 0; ; attempt++)
            {
                var locks = _locks is { Lost: false } open ? open : _locks = await LockSession.OpenAsync(_lockSource, cancellationToken).ConfigureAwait(false);
                try
                {
                    return await take(locks).ConfigureAwait(false);
                }
                catch (Exception e) when ((e is NpgsqlException or IOException) && locks.Lost && attempt == 0)
                {
                    // The connection had broken since the last call (the server restarted, a proxy cut it): its
                    // locks are gone, whatever this one did. Once more on a new connection.
                }
            }
        }
        finally
        {
            _lockGate.Release();
        }
    }

    /// <summary>One server session holding locks. Lost once its connection broke: the server ended the session, and
    /// its locks with it; the handles taken on it then have nothing left to release.</summary>
    private sealed class LockSession(NpgsqlConnection connection)
    {
        public bool Lost { get; private set; }

        public static async Task<LockSession> OpenAsync(NpgsqlDataSource source, CancellationToken cancellationToken) =>
            new(await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false));

        /// <summary>Runs a statement of advisory-lock functions on the keys @a and (when given) @b; called under the lock gate.</summary>
        public async Task<T> RunAsync<T>(string sql, long a, long? b = null)
        {
            try
            {
                await using var cmd = new NpgsqlCommand(sql, connection);
                cmd.Parameters.AddWithValue("a", a);
                if (b is { } second) cmd.Parameters.AddWithValue("b", second);
                return (T)(await cmd.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false))!;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                // A broken connection took every lock with it. An answer that timed out leaves unknown whether the
                // lock was taken: closing the session is the one way to be sure it is not held. A server error (the
                // lock table full) leaves the session and its other locks as they were.
                if (e is TimeoutException || connection.FullState != System.Data.ConnectionState.Open) await CloseAsync().ConfigureAwait(false);
                throw;
            }
        }

        public async ValueTask CloseAsync()
        {
            Lost = true;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One lock, or the two of <see cref="TryLockPairAsync"/>, let go in one statement (the second first).</summary>
    private sealed class Held(PostgresManifest owner, LockSession locks, long first, long? second = null) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                await owner._lockGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    if (!locks.Lost)
                    {
                        await locks.RunAsync<bool>(second is null ? "SELECT pg_advisory_unlock(@a)"
                            : "SELECT pg_advisory_unlock(@b)::int + pg_advisory_unlock(@a)::int = 2", first, second).ConfigureAwait(false);
                    }
                }
                finally
                {
                    owner._lockGate.Release();
                }
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                // The connection is broken: the server has ended the session, and the locks with it.
            }
            finally
            {
                if (second is { } b) owner._held.TryRemove(b, out _);
                owner._held.TryRemove(first, out _);
            }
        }
    }

    public async Task<TransferRecord?> FindTransferAsync(TransferKey key, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(TransferSelect + " WHERE source = @s AND destination = @d AND pipeline = @p",
            ("s", key.Source), ("d", key.Destination), ("p", key.Pipeline));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ManifestRows.ReadTransfer(reader) : null;
    }

    public async Task<IReadOnlyDictionary<TransferKey, TransferRecord>> FindTransfersAsync(IReadOnlyCollection<TransferKey> keys,
        CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<TransferKey, TransferRecord>(keys.Count);
        if (keys.Count == 0) return found;
        // One round trip: the keys go as three arrays, unnested into rows and joined on the unique key's index.
        await using var cmd = Command($"""
            SELECT {AliasedTransferColumns} FROM transfers t
            JOIN unnest(@s::text[], @d::text[], @p::text[]) AS k(s, d, p) ON t.source = k.s AND t.destination = k.d AND t.pipeline = k.p
            """,
            ("s", keys.Select(k => k.Source).ToArray()), ("d", keys.Select(k => k.Destination).ToArray()), ("p", keys.Select(k => k.Pipeline).ToArray()));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var record = ManifestRows.ReadTransfer(reader);
            found[record.Key] = record;
        }
        return found;
    }

    public async Task AddPendingAsync(long sessionId, IReadOnlyCollection<(TransferKey Key, SourceIdentity Source)> files,
        CancellationToken cancellationToken = default)
    {
        if (files.Count == 0) return;
        // One statement for the batch: the columns go as arrays and are unnested into rows. Only the transfers it
        // creates join the session now; the others join it when they start.
        await using var cmd = Command($"""
            WITH added AS (
                INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status, updated_at)
                SELECT @session, k.s, k.d, k.p, k.size, k.version, k.modified, 'Pending', @now
                FROM unnest(@s::text[], @d::text[], @p::text[], @size::bigint[], @version::text[], @modified::bigint[]) AS k(s, d, p, size, version, modified)
                ON CONFLICT (source, destination, pipeline) DO NOTHING
                RETURNING {ManifestRows.TransferColumns}
            )
            {ManifestRows.RecordSessionFile("added")}
            """,
            ("session", sessionId), ("now", Now()),
            ("s", files.Select(f => f.Key.Source).ToArray()), ("d", files.Select(f => f.Key.Destination).ToArray()),
            ("p", files.Select(f => f.Key.Pipeline).ToArray()), ("size", files.Select(f => f.Source.Size).ToArray()),
            ("version", files.Select(f => f.Source.Version).ToArray()),
            ("modified", files.Select(f => f.Source.Modified?.ToUnixTimeMilliseconds()).ToArray()));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary><see cref="ManifestRows.TransferColumns"/> qualified with the alias "t", for joins.</summary>
    private static readonly string AliasedTransferColumns =
        string.Join(", ", ManifestRows.TransferColumns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(c => "t." + c));

    public async Task<TransferRecord> StartTransferAsync(TransferKey key, long sessionId, SourceIdentity source, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command($"""
            WITH started AS (
                INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status, updated_at, epoch)
                VALUES (@session, @s, @d, @p, @size, @version, @modified, 'InProgress', @now, 1)
                ON CONFLICT (source, destination, pipeline) DO UPDATE SET
                    session_id = excluded.session_id, source_size = excluded.source_size, source_version = excluded.source_version,
                    source_modified = excluded.source_modified, status = 'InProgress', sink_state = NULL, bytes_confirmed = 0,
                    attempts = 1, last_error = NULL, md5 = NULL, sha256 = NULL, output_size = -1, updated_at = excluded.updated_at,
                    epoch = transfers.epoch + 1
                RETURNING {ManifestRows.TransferColumns}
            ), dropped AS (
                DELETE FROM chunks WHERE transfer_id IN (SELECT id FROM started)
            ), recorded AS (
                {ManifestRows.RecordSessionFile("started")}
            )
            SELECT {ManifestRows.TransferColumns} FROM started
            """,
            ("session", sessionId), ("s", key.Source), ("d", key.Destination), ("p", key.Pipeline), ("size", source.Size),
            ("version", source.Version), ("modified", source.Modified?.ToUnixTimeMilliseconds()), ("now", Now()));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return ManifestRows.ReadTransfer(reader);
    }

    /// <summary>One statement: the existing row as the statement found it, else the row it inserted. A row that
    /// another session inserted meanwhile without the lock (a planner's pending row) is neither: then it is read.</summary>
    public async Task<(TransferRecord Record, bool Started)> StartTransferIfNewAsync(TransferKey key, long sessionId, SourceIdentity source,
        CancellationToken cancellationToken = default)
    {
        await using (var cmd = Command($"""
            WITH existing AS (
                SELECT {ManifestRows.TransferColumns} FROM transfers WHERE source = @s AND destination = @d AND pipeline = @p
            ), started AS (
                INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status, updated_at, epoch)
                SELECT @session::bigint, @s::text, @d::text, @p::text, @size::bigint, @version::text, @modified::bigint, 'InProgress', @now::bigint, 1
                WHERE NOT EXISTS (SELECT 1 FROM existing)
                ON CONFLICT (source, destination, pipeline) DO NOTHING
                RETURNING {ManifestRows.TransferColumns}
            ), recorded AS (
                {ManifestRows.RecordSessionFile("started")}
            )
            SELECT {ManifestRows.TransferColumns}, true FROM started
            UNION ALL SELECT {ManifestRows.TransferColumns}, false FROM existing
            """,
            ("session", sessionId), ("s", key.Source), ("d", key.Destination), ("p", key.Pipeline), ("size", source.Size),
            ("version", source.Version), ("modified", source.Modified?.ToUnixTimeMilliseconds()), ("now", Now())))
        {
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                return (ManifestRows.ReadTransfer(reader, key), reader.GetBoolean(reader.FieldCount - 1));
        }
        return (await FindTransferAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"transfer {key.Source} -> {key.Destination} neither found nor started"), false);
    }

    public async Task<TransferLease> AttachTransferAsync(long transferId, long sessionId, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(Recorded(
            "UPDATE transfers SET session_id = @session, attempts = attempts + 1, status = 'InProgress', updated_at = @now, epoch = epoch + 1 WHERE id = @id",
            select: "epoch"), ("session", sessionId), ("now", Now()), ("id", transferId));
        var epoch = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"transfer {transferId} does not exist");
        return new TransferLease(transferId, (long)epoch);
    }

    /// <summary>An UPDATE of one transfer, followed in the same statement by the record of its new state in its
    /// session's record (<see cref="ManifestRows.RecordSessionFile"/>); the statement returns <paramref name="select"/> of
    /// the changed row, nothing when no row matched. <paramref name="prefix"/>: CTEs to run first.</summary>
    private static string Recorded(string update, string prefix = "", string select = "id") => $"""
        WITH {prefix}changed AS ({update} RETURNING {ManifestRows.TransferColumns}),
        recorded AS ({ManifestRows.RecordSessionFile("changed")})
        SELECT {select} FROM changed
        """;

    public Task SetSinkStateAsync(TransferLease lease, string? sinkState, CancellationToken cancellationToken = default) =>
        FencedAsync(lease, "UPDATE transfers SET sink_state = @state, updated_at = @now WHERE id = @id AND epoch = @epoch RETURNING id",
            cancellationToken, ("state", sinkState), ("now", Now()));

    public async Task<IReadOnlyList<ChunkRecord>> GetChunksAsync(long transferId, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("""SELECT seq, "offset", length, input_end, checksum FROM chunks WHERE transfer_id = @id ORDER BY seq""", ("id", transferId));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var chunks = new List<ChunkRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            chunks.Add(new ChunkRecord(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.GetString(4)));
        return chunks;
    }

    /// <summary>The chunk is inserted only from the row the fenced UPDATE returns: a stale lease adds nothing.</summary>
    public Task ConfirmChunkAsync(TransferLease lease, ChunkRecord chunk, string? sinkState, CancellationToken cancellationToken = default) =>
        FencedAsync(lease, """
            WITH held AS (
                UPDATE transfers SET bytes_confirmed = @end, sink_state = @state, updated_at = @now WHERE id = @id AND epoch = @epoch RETURNING id
            ), chunk AS (
                INSERT INTO chunks(transfer_id, seq, "offset", length, input_end, checksum)
                SELECT id, @seq, @offset, @length, @input::bigint, @sum FROM held
                ON CONFLICT (transfer_id, seq) DO UPDATE SET
                    "offset" = excluded."offset", length = excluded.length, input_end = excluded.input_end, checksum = excluded.checksum
            )
            SELECT id FROM held
            """, cancellationToken,
            ("seq", chunk.Sequence), ("offset", chunk.Offset), ("length", chunk.Length), ("input", chunk.InputEnd),
            ("sum", chunk.Checksum), ("end", chunk.End), ("state", sinkState), ("now", Now()));

    /// <summary>One statement sees the chunks as they were before its DELETE, hence <c>seq &lt; @seq</c> in the sum.</summary>
    public Task DropChunksAsync(TransferLease lease, int fromSequence, CancellationToken cancellationToken = default) =>
        FencedAsync(lease, """
            WITH held AS (
                UPDATE transfers SET bytes_confirmed = COALESCE((SELECT MAX("offset" + length) FROM chunks WHERE transfer_id = @id AND seq < @seq), 0)
                WHERE id = @id AND epoch = @epoch RETURNING id
            ), dropped AS (
                DELETE FROM chunks WHERE transfer_id IN (SELECT id FROM held) AND seq >= @seq
            )
            SELECT id FROM held
            """, cancellationToken, ("seq", fromSequence));

    public Task CompleteTransferAsync(TransferLease lease, TransferCompletion completion, CancellationToken cancellationToken = default) =>
        FencedAsync(lease, $"WITH {CompleteTransferSteps("")} SELECT id FROM changed", cancellationToken, CompleteTransferParameters("", completion, Now()));

    /// <summary>The steps of <see cref="CompleteTransferAsync"/> as a statement's CTEs, fenced by @{p}id and @{p}epoch:
    /// {p}held, {p}dropped (its chunks), {p}changed (the row as it now is, when the epoch matched), {p}recorded (its
    /// session's record). <paramref name="p"/> prefixes the names, for a statement that also does other things.</summary>
    private static string CompleteTransferSteps(string p) => $"""
        {p}held AS (SELECT id FROM transfers WHERE id = @{p}id AND epoch = @{p}epoch),
        {p}dropped AS (DELETE FROM chunks WHERE transfer_id IN (SELECT id FROM {p}held)),
        {p}changed AS (
            UPDATE transfers SET status = 'Completed', sink_state = NULL, md5 = @{p}md5, sha256 = @{p}sha, output_size = @{p}size,
                bytes_confirmed = @{p}size, last_error = NULL, updated_at = @{p}now WHERE id = @{p}id AND epoch = @{p}epoch
            RETURNING {ManifestRows.TransferColumns}),
        {p}recorded AS ({ManifestRows.RecordSessionFile(p + "changed")})
        """;

    /// <summary><see cref="CompleteTransferSteps"/>' parameters but the fence (@{p}id, @{p}epoch).</summary>
    private static (string, object?)[] CompleteTransferParameters(string p, TransferCompletion completion, long now) =>
        [(p + "md5", completion.Md5), (p + "sha", completion.Sha256), (p + "size", completion.OutputSize), (p + "now", now)];

    public async Task CompleteTransfersAsync(long sessionId, IReadOnlyCollection<CompletedTransfer> transfers, CancellationToken cancellationToken = default)
    {
        if (transfers.Count == 0) return;
        // One statement for the batch, as AddPendingAsync: the columns go as arrays and are unnested into rows.
        await using var cmd = Command($"""
            WITH done AS (
                INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status,
                    bytes_confirmed, md5, sha256, output_size, updated_at, epoch)
                SELECT @session, k.s, k.d, k.p, k.size, k.version, k.modified, 'Completed', k.osize, k.md5, k.sha, k.osize, @now, 1
                FROM unnest(@s::text[], @d::text[], @p::text[], @size::bigint[], @version::text[], @modified::bigint[], @osize::bigint[],
                    @md5::text[], @sha::text[]) AS k(s, d, p, size, version, modified, osize, md5, sha)
                ON CONFLICT (source, destination, pipeline) DO UPDATE SET
                    session_id = excluded.session_id, source_size = excluded.source_size, source_version = excluded.source_version,
                    source_modified = excluded.source_modified, status = 'Completed', sink_state = NULL, bytes_confirmed = excluded.bytes_confirmed,
                    attempts = 1, last_error = NULL, md5 = excluded.md5, sha256 = excluded.sha256, output_size = excluded.output_size,
                    updated_at = excluded.updated_at, epoch = transfers.epoch + 1
                RETURNING {ManifestRows.TransferColumns}
            ), dropped AS (
                DELETE FROM chunks WHERE transfer_id IN (SELECT id FROM done)
            )
            {ManifestRows.RecordSessionFile("done")}
            """,
            ("session", sessionId), ("now", Now()),
            ("s", transfers.Select(t => t.Key.Source).ToArray()), ("d", transfers.Select(t => t.Key.Destination).ToArray()),
            ("p", transfers.Select(t => t.Key.Pipeline).ToArray()), ("size", transfers.Select(t => t.Source.Size).ToArray()),
            ("version", transfers.Select(t => t.Source.Version).ToArray()),
            ("modified", transfers.Select(t => t.Source.Modified?.ToUnixTimeMilliseconds()).ToArray()),
            ("osize", transfers.Select(t => t.Completion.OutputSize).ToArray()),
            ("md5", transfers.Select(t => t.Completion.Md5).ToArray()), ("sha", transfers.Select(t => t.Completion.Sha256).ToArray()));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task FailTransferAsync(TransferLease lease, string error, CancellationToken cancellationToken = default) =>
        FencedAsync(lease, Recorded("UPDATE transfers SET status = 'Failed', last_error = @error, updated_at = @now WHERE id = @id AND epoch = @epoch"),
            cancellationToken, ("error", Location.RedactUrls(error)), ("now", Now()));

    public async IAsyncEnumerable<SessionRecord> ListSessionsAsync(int limit, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("SELECT " + ManifestRows.SessionColumns + " FROM sessions ORDER BY id DESC LIMIT @limit", ("limit", limit));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return ManifestRows.ReadSession(r);
    }

    public async Task<SessionRecord?> GetSessionAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("SELECT " + ManifestRows.SessionColumns + " FROM sessions WHERE id = @id", ("id", sessionId));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? ManifestRows.ReadSession(r) : null;
    }

    public async IAsyncEnumerable<TransferRecord> ListTransfersAsync(long? sessionId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = sessionId is null
            ? Command(TransferSelect + " ORDER BY id")
            : Command(ManifestRows.SessionFilesSelect("@session"), ("session", sessionId));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return ManifestRows.ReadTransfer(reader);
    }

    public async IAsyncEnumerable<ProjectRecord> ListProjectsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("""
            SELECT project, COUNT(*), SUM(files)::bigint, SUM(bytes)::bigint, MAX(started_at) FROM sessions
            WHERE project IS NOT NULL GROUP BY project ORDER BY project
            """);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return new ProjectRecord(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), ManifestRows.Time(r.GetInt64(4)));
    }

    public async Task<string?> GetConfigSnapshotAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("SELECT config FROM sessions WHERE id = @id", ("id", sessionId));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>Closes the pool and the lock connection: locks still held are released with it (their handles then
    /// have nothing left to do).</summary>
    public async ValueTask DisposeAsync()
    {
        await _lockGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_locks is { } locks) await locks.CloseAsync().ConfigureAwait(false);
        }
        finally
        {
            _lockGate.Release();
        }
        await CloseListenerAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await _lockSource.DisposeAsync().ConfigureAwait(false);
    }

    private const string TransferSelect = "SELECT " + ManifestRows.TransferColumns + " FROM transfers";

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();


    /// <summary>Runs a write on behalf of <paramref name="lease"/>, with @id and @epoch bound: a statement that returns
    /// the transfer's id when the epoch still matched, and no row when another process took the transfer over.</summary>
    private async Task FencedAsync(TransferLease lease, string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var cmd = Command(sql, [.. parameters, ("id", lease.Id), ("epoch", lease.Epoch)]);
        if (await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null) throw new TransferFencedException(lease);
    }

    private async Task ExecAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A command that takes a pooled connection when it runs and gives it back when it (or its reader) is done.</summary>
    private NpgsqlCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = _dataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }
}
