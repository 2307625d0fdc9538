using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using Microsoft.Data.Sqlite;

namespace LoadPipe.Manifest.Sqlite;

/// <summary>
/// The default manifest: one SQLite file in WAL mode with synchronous=NORMAL. A commit survives kill -9 at once;
/// after a power loss the last few commits may be lost, which is safe: a chunk is recorded only after the
/// destination made it durable, so a lost record only means that chunk is sent again. Each call takes a connection of
/// its own from a small pool (<see cref="Pooled"/>), so any number of transfers may call at once; a pooled connection
/// keeps its pragmas and its prepared statements, so a call costs the statement, not its parsing.
/// </summary>
public sealed partial class SqliteManifest : IManifest, IAdapterStateStore
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;

    private SqliteManifest(string path, TimeProvider time)
    {
        Path = path;
        _time = time;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public string Description => "sqlite:" + Path;

    /// <summary>Opens (creating if needed) the manifest at <paramref name="path"/> and brings its schema up to date.</summary>
    public static async Task<SqliteManifest> OpenAsync(string path, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            var manifest = new SqliteManifest(full, time ?? TimeProvider.System);
            await manifest.MigrateAsync(cancellationToken).ConfigureAwait(false);
            OpenLockFile(full);
            return manifest;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"manifest {full}: cannot open ({e.Message.Split('\n')[0]})", e);
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await c.Command("PRAGMA journal_mode=WAL;").ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await c.Command("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);").ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        var current = Convert.ToInt32(await c.Command("SELECT COALESCE(MAX(version), 0) FROM schema_version", tx)
            .ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L);
        if (current > Migrations.Steps.Length)
            throw new LoadPipeException(ErrorKind.Usage, $"manifest {Path} has schema version {current}, newer than this lp knows ({Migrations.Steps.Length}): upgrade lp");
        for (var v = current; v < Migrations.Steps.Length; v++)
        {
            // Run once: not kept among the prepared statements.
            await using var step = c.Connection.CreateCommand();
            step.Transaction = tx;
            step.CommandText = Migrations.Steps[v] + $"; INSERT INTO schema_version(version) VALUES ({v + 1});";
            step.Parameters.AddWithValue("$host", Location.ThisHost);
            await step.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> BeginSessionAsync(SessionStart start, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var cmd = c.Command("""
            INSERT INTO sessions(command, source, destination, project, config, started_at)
            VALUES ($command, $source, $destination, $project, $config, $now) RETURNING id
            """, null,
            ("$command", start.Command), ("$source", start.Source), ("$destination", start.Destination),
            ("$project", start.Project), ("$config", start.ConfigSnapshot), ("$now", Now()));
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public Task EndSessionAsync(long sessionId, SessionSummary summary, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            UPDATE sessions SET status = $status, finished_at = $now, files = $files, files_skipped = $skipped,
                files_failed = $failed, bytes = $bytes, bytes_sent = $sent WHERE id = $id
            """, cancellationToken,
            ("$status", summary.Status.Name()), ("$now", Now()), ("$files", summary.Files), ("$skipped", summary.FilesSkipped),
            ("$failed", summary.FilesFailed), ("$bytes", summary.Bytes), ("$sent", summary.BytesSent), ("$id", sessionId));

    public Task RecordSessionCountsAsync(long sessionId, SessionCounts counts, CancellationToken cancellationToken = default) =>
        ExecAsync("""
            UPDATE sessions SET files = $files, files_skipped = $skipped, files_failed = $failed, bytes = $bytes, bytes_sent = $sent WHERE id = $id
            """, cancellationToken,
            ("$files", counts.Files), ("$skipped", counts.FilesSkipped), ("$failed", counts.FilesFailed), ("$bytes", counts.Bytes),
            ("$sent", counts.BytesSent), ("$id", sessionId));

    /// <summary>
    /// A held key is a write lock (fcntl) on one byte of a lock file beside the database ("NAME-locks", or one of
    /// "NAME-locks-1" to "-7", by the key's low bits: <see cref="LockFileCount"/>), at an offset made from the key's
    /// <see cref="TransferKey.LockId"/>: the kernel drops it when its process ends, kill -9 included, and taking or
    /// dropping it is one system call, not two writes to the database (the <c>locks</c> rows lp used before, still used
    /// on macOS, where FileStream.Lock is missing: <see cref="TryLockRowAsync"/>). Within this process a set of held
    /// keys (per database file) keeps two tasks, or two instances, apart.
    /// </summary>
    public Task<IAsyncDisposable?> TryLockAsync(TransferKey key, CancellationToken cancellationToken = default)
    {
        if (OperatingSystem.IsMacOS()) return TryLockRowAsync(key, cancellationToken);
        var id = key.LockId;
        if (!HeldKeys.TryAdd((Path, id), 0)) return Task.FromResult<IAsyncDisposable?>(null);
        try
        {
            var file = LockFile(id);
            var at = id & LockOffsets;
            try
            {
                file.Lock(at, 1);
            }
            catch (IOException)
            {
                // Held by another process.
                HeldKeys.TryRemove((Path, id), out _);
                return Task.FromResult<IAsyncDisposable?>(null);
            }
            return Task.FromResult<IAsyncDisposable?>(new Held(this, file, at, id));
        }
        catch
        {
            HeldKeys.TryRemove((Path, id), out _);
            throw;
        }
    }

    // Offsets a lock may take: 62 bits of the key's hash, so that the offset plus the byte stay within a file offset.
    private const long LockOffsets = (1L << 62) - 1;

    // Process-wide, per database file: two manifest instances on one file in one process must not both hold a key.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long), byte> HeldKeys = new();

    /// <summary>
    /// How many lock files the held keys are spread over (schema step 12). The kernel keeps an inode's fcntl locks in
    /// one list and walks it on every lock and unlock, so with one file each call cost in proportion to the locks the
    /// process held: the group commit holds two per staged file, up to about 1,500, and that walk was 18-30 % of a
    /// small-file copy's CPU (docs/benchmarks.md). Eight files make each list an eighth as long.
    /// </summary>
    internal const int LockFileCount = 8;

    // Process-wide, per database file, its open lock files: a process's fcntl locks on a file all go when any of its
    // descriptors of that file is closed, so every instance on a database shares them, closed with the last of them.
    private static readonly Dictionary<string, (FileStream[] Files, int Users)> LockFiles = new(StringComparer.Ordinal);

    private FileStream LockFile(long id)
    {
        lock (LockFiles)
            return LockFiles.TryGetValue(Path, out var open) ? open.Files[(int)(id & (LockFileCount - 1))] : throw new ObjectDisposedException(Description);
    }

    private static void OpenLockFile(string path)
    {
        lock (LockFiles)
        {
            var entry = LockFiles.TryGetValue(path, out var open) ? open
                : (Enumerable.Range(0, LockFileCount).Select(i => new FileStream(path + (i == 0 ? "-locks" : $"-locks-{i}"), FileMode.OpenOrCreate,
                    FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete)).ToArray(), 0);
            LockFiles[path] = (entry.Item1, entry.Item2 + 1);
        }
    }

    private static void CloseLockFile(string path)
    {
        lock (LockFiles)
        {
            if (!LockFiles.TryGetValue(path, out var open)) return;
            if (open.Users > 1) LockFiles[path] = (open.Files, open.Users - 1);
            else
            {
                LockFiles.Remove(path);
                foreach (var file in open.Files) file.Dispose();
            }
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("macos")]
    private sealed class Held(SqliteManifest owner, FileStream file, long at, long id) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            try
            {
                file.Unlock(at, 1);
            }
            catch (ObjectDisposedException)
            {
                // The manifest was disposed first: closing the lock file dropped the lock.
            }
            finally
            {
                HeldKeys.TryRemove((owner.Path, id), out _);
            }
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Where FileStream.Lock is missing (macOS): a row in <c>locks</c> names the holder by process id and
    /// start time; a row whose process is gone (killed) is taken over. SQLite is a local file, so every holder runs on
    /// this host and can be checked.</summary>
    private async Task<IAsyncDisposable?> TryLockRowAsync(TransferKey key, CancellationToken cancellationToken)
    {
        var id = key.LockId;
        if (!HeldKeys.TryAdd((Path, id), 0)) return null;
        try
        {
            await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = c.Begin(deferred: false);
            await using (var r = await c.Command("SELECT pid, pid_start FROM locks WHERE lock_id = $id", tx, ("$id", id))
                .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await r.ReadAsync(cancellationToken).ConfigureAwait(false) && ProcessAlive(r.GetInt32(0), r.GetInt64(1)) && r.GetInt32(0) != Environment.ProcessId)
                {
                    HeldKeys.TryRemove((Path, id), out _);
                    return null;
                }
            }
            await c.Command("INSERT OR REPLACE INTO locks(lock_id, pid, pid_start) VALUES ($id, $pid, $start)", tx,
                ("$id", id), ("$pid", Environment.ProcessId), ("$start", ProcessStart)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new HeldRow(this, id);
        }
        catch
        {
            HeldKeys.TryRemove((Path, id), out _);
            throw;
        }
    }

    private static readonly long ProcessStart = StartOf(System.Diagnostics.Process.GetCurrentProcess());

    private static long StartOf(System.Diagnostics.Process p) => p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond;

    private static bool ProcessAlive(int pid, long start)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited && StartOf(p) == start;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private sealed class HeldRow(SqliteManifest owner, long id) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await owner.ExecAsync("DELETE FROM locks WHERE lock_id = $id AND pid = $pid", CancellationToken.None,
                    ("$id", id), ("$pid", Environment.ProcessId)).ConfigureAwait(false);
            }
            finally
            {
                HeldKeys.TryRemove((owner.Path, id), out _);
            }
        }
    }

    private const string FindByKey = TransferSelect + " WHERE source = $s AND destination = $d AND pipeline = $p";

    public async Task<TransferRecord?> FindTransferAsync(TransferKey key, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await c.Command(FindByKey, null, ("$s", key.Source), ("$d", key.Destination), ("$p", key.Pipeline))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ManifestRows.ReadTransfer(reader) : null;
    }

    public async Task<IReadOnlyDictionary<TransferKey, TransferRecord>> FindTransfersAsync(IReadOnlyCollection<TransferKey> keys,
        CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<TransferKey, TransferRecord>(keys.Count);
        if (keys.Count == 0) return found;
        // One statement for the whole batch: the keys go in as one JSON array, and SQLite walks it (json_each) and looks
        // each key up in the unique index itself. A statement per key cost a bound execution and a reader each, most of
        // a re-run's lookup time.
        // The array is cut into parts of at most JsonPart characters: a batch's whole text (and its UTF-8 copy) would be
        // large objects, which the GC frees only in a full collection, so every batch would grow the heap until one.
        var list = keys as IReadOnlyList<TransferKey> ?? keys.ToList();
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin(deferred: true);
        var cmd = c.Command(FindByKeys, tx, ("$k", ""));
        for (var first = 0; first < list.Count;)
        {
            var (json, next) = KeysJson(list, first);
            cmd.Parameters["$k"].Value = json;
            await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var key = list[first + reader.GetInt32(FindByKeysIndex)];
                    found[key] = ManifestRows.ReadTransfer(reader, key);
                }
            }
            first = next;
        }
        return found;
    }

    /// <summary>Characters of JSON per lookup statement: 48 KB as a string, at most 72 KB as UTF-8, under the GC's
    /// 85,000-byte large-object threshold.</summary>
    private const int JsonPart = 24_000;

    /// <summary>The transfers of a JSON array of keys ([source, destination, pipeline] each), with each one's place in
    /// the array as the last column.</summary>
    private static readonly string FindByKeys =
        "SELECT " + string.Join(", ", ManifestRows.TransferColumns.Split(',').Select(column => "t." + column.Trim()))
        + """
        , k.key FROM json_each($k) AS k
        JOIN transfers AS t ON t.source = k.value ->> 0 AND t.destination = k.value ->> 1 AND t.pipeline = k.value ->> 2
        """;

    private static readonly int FindByKeysIndex = ManifestRows.TransferColumns.Split(',').Length;

    /// <summary>The keys as a JSON array of [source, destination, pipeline]. Only what JSON requires is escaped ('"',
    /// '\\', control characters): every other character goes in as itself, so SQLite reads back exactly the UTF-8 that
    /// a bound parameter would have given (unpaired surrogates included, replaced the same way).</summary>
    private static readonly System.Buffers.SearchValues<char> JsonEscaped =
        System.Buffers.SearchValues.Create("\"\\" + string.Concat(Enumerable.Range(0, 32).Select(c => (char)c)));

    private static (string Json, int Next) KeysJson(IReadOnlyList<TransferKey> keys, int first)
    {
        var json = new System.Text.StringBuilder(JsonPart + 1024);
        json.Append('[');
        var next = first;
        // At least one key, and then as many as fit (a key longer than the part goes alone).
        while (next < keys.Count && (next == first || json.Length + keys[next].Source.Length + keys[next].Destination.Length + keys[next].Pipeline.Length + 16 <= JsonPart))
        {
            var key = keys[next++];
            if (json.Length > 1) json.Append(',');
            json.Append('[');
            Quoted(key.Source).Append(',');
            Quoted(key.Destination).Append(',');
            Quoted(key.Pipeline).Append(']');
        }
        return (json.Append(']').ToString(), next);

        System.Text.StringBuilder Quoted(string text)
        {
            json.Append('"');
            var rest = text.AsSpan();
            for (var at = rest.IndexOfAny(JsonEscaped); at >= 0; at = rest.IndexOfAny(JsonEscaped))
            {
                var ch = rest[at];
                json.Append(rest[..at]);
                if (ch is '"' or '\\') json.Append('\\').Append(ch);
                else json.Append("\\u").Append(((int)ch).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                rest = rest[(at + 1)..];
            }
            return json.Append(rest).Append('"');
        }
    }

    public async Task AddPendingAsync(long sessionId, IReadOnlyCollection<(TransferKey Key, SourceIdentity Source)> files,
        CancellationToken cancellationToken = default)
    {
        if (files.Count == 0) return;
        // One transaction, one prepared statement: a batch of 500 costs about as much as one insert on its own.
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        var cmd = c.Command("""
            INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status, updated_at)
            VALUES ($session, $s, $d, $p, $size, $version, $modified, 'Pending', $now)
            ON CONFLICT(source, destination, pipeline) DO NOTHING
            RETURNING id
            """, tx, ("$session", sessionId), ("$s", ""), ("$d", ""), ("$p", ""), ("$size", 0L), ("$version", null), ("$modified", null), ("$now", Now()));
        // Only the transfers this batch created join the session now; the others join it when they start.
        var record = c.Command(RecordSessionFile, tx, ("$id", 0L));
        foreach (var (key, source) in files)
        {
            cmd.Parameters["$s"].Value = key.Source;
            cmd.Parameters["$d"].Value = key.Destination;
            cmd.Parameters["$p"].Value = key.Pipeline;
            cmd.Parameters["$size"].Value = source.Size;
            cmd.Parameters["$version"].Value = (object?)source.Version ?? DBNull.Value;
            cmd.Parameters["$modified"].Value = (object?)source.Modified?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            if (await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long id) continue;
            record.Parameters["$id"].Value = id;
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<TransferRecord> StartTransferAsync(TransferKey key, long sessionId, SourceIdentity source, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        TransferRecord record;
        await using (var reader = await c.Command($"""
            INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status, updated_at, epoch)
            VALUES ($session, $s, $d, $p, $size, $version, $modified, 'InProgress', $now, 1)
            ON CONFLICT(source, destination, pipeline) DO UPDATE SET
                session_id = excluded.session_id, source_size = excluded.source_size, source_version = excluded.source_version,
                source_modified = excluded.source_modified, status = 'InProgress', sink_state = NULL, bytes_confirmed = 0,
                attempts = 1, last_error = NULL, md5 = NULL, sha256 = NULL, output_size = -1, updated_at = excluded.updated_at,
                epoch = transfers.epoch + 1
            RETURNING {ManifestRows.TransferColumns}
            """, tx,
            ("$session", sessionId), ("$s", key.Source), ("$d", key.Destination), ("$p", key.Pipeline), ("$size", source.Size),
            ("$version", source.Version), ("$modified", source.Modified?.ToUnixTimeMilliseconds()), ("$now", Now()))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            record = ManifestRows.ReadTransfer(reader);
        }
        await c.Command("DELETE FROM chunks WHERE transfer_id = $id", tx, ("$id", record.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await c.Command(RecordSessionFile, tx, ("$id", record.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return record;
    }

    public async Task<TransferLease> AttachTransferAsync(long transferId, long sessionId, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        var epoch = await c.Command("""
            UPDATE transfers SET session_id = $session, attempts = attempts + 1, status = 'InProgress', updated_at = $now, epoch = epoch + 1
            WHERE id = $id RETURNING epoch
            """, tx, ("$session", sessionId), ("$now", Now()), ("$id", transferId)).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"transfer {transferId} does not exist");
        await c.Command(RecordSessionFile, tx, ("$id", transferId)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new TransferLease(transferId, (long)epoch);
    }

    public async Task SetSinkStateAsync(TransferLease lease, string? sinkState, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await FencedUpdateAsync(c, null, lease, "UPDATE transfers SET sink_state = $state, updated_at = $now WHERE id = $id AND epoch = $epoch",
            cancellationToken, ("$state", sinkState), ("$now", Now())).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ChunkRecord>> GetChunksAsync(long transferId, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await c.Command("SELECT seq, offset, length, input_end, checksum FROM chunks WHERE transfer_id = $id ORDER BY seq", null, ("$id", transferId))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var chunks = new List<ChunkRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            chunks.Add(new ChunkRecord(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.GetString(4)));
        return chunks;
    }

    // Each fenced write updates the transfer's row first, on its epoch, and changes its chunks only when that matched.

    public async Task ConfirmChunkAsync(TransferLease lease, ChunkRecord chunk, string? sinkState, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        await FencedUpdateAsync(c, tx, lease, "UPDATE transfers SET bytes_confirmed = $end, sink_state = $state, updated_at = $now WHERE id = $id AND epoch = $epoch",
            cancellationToken, ("$end", chunk.End), ("$state", sinkState), ("$now", Now())).ConfigureAwait(false);
        await c.Command("""
            INSERT OR REPLACE INTO chunks(transfer_id, seq, offset, length, input_end, checksum) VALUES ($id, $seq, $offset, $length, $input, $sum)
            """, tx, ("$id", lease.Id), ("$seq", chunk.Sequence), ("$offset", chunk.Offset), ("$length", chunk.Length), ("$input", chunk.InputEnd), ("$sum", chunk.Checksum))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task DropChunksAsync(TransferLease lease, int fromSequence, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        await FencedUpdateAsync(c, tx, lease, """
            UPDATE transfers SET bytes_confirmed = COALESCE((SELECT MAX(offset + length) FROM chunks WHERE transfer_id = $id AND seq < $seq), 0)
            WHERE id = $id AND epoch = $epoch
            """, cancellationToken, ("$seq", fromSequence)).ConfigureAwait(false);
        await c.Command("DELETE FROM chunks WHERE transfer_id = $id AND seq >= $seq", tx, ("$id", lease.Id), ("$seq", fromSequence))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteTransferAsync(TransferLease lease, TransferCompletion completion, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        await FencedUpdateAsync(c, tx, lease, """
            UPDATE transfers SET status = 'Completed', sink_state = NULL, md5 = $md5, sha256 = $sha, output_size = $size,
                bytes_confirmed = $size, last_error = NULL, updated_at = $now WHERE id = $id AND epoch = $epoch
            """, cancellationToken, ("$md5", completion.Md5), ("$sha", completion.Sha256), ("$size", completion.OutputSize), ("$now", Now())).ConfigureAwait(false);
        await c.Command("DELETE FROM chunks WHERE transfer_id = $id", tx, ("$id", lease.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await c.Command(RecordSessionFile, tx, ("$id", lease.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteTransfersAsync(long sessionId, IReadOnlyCollection<CompletedTransfer> transfers, CancellationToken cancellationToken = default)
    {
        if (transfers.Count == 0) return;
        // One transaction: one prepared statement a transfer (the upsert, which gives its id), then two for the whole
        // batch (its ids as one JSON array): the chunks of the transfers taken over dropped, the session's record.
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        var now = Now();
        var upsert = c.Command("""
            INSERT INTO transfers(session_id, source, destination, pipeline, source_size, source_version, source_modified, status,
                bytes_confirmed, md5, sha256, output_size, updated_at, epoch)
            VALUES ($session, $s, $d, $p, $size, $version, $modified, 'Completed', $out, $md5, $sha, $out, $now, 1)
            ON CONFLICT(source, destination, pipeline) DO UPDATE SET
                session_id = excluded.session_id, source_size = excluded.source_size, source_version = excluded.source_version,
                source_modified = excluded.source_modified, status = 'Completed', sink_state = NULL, bytes_confirmed = excluded.bytes_confirmed,
                attempts = 1, last_error = NULL, md5 = excluded.md5, sha256 = excluded.sha256, output_size = excluded.output_size,
                updated_at = excluded.updated_at, epoch = transfers.epoch + 1
            RETURNING id
            """, tx, ("$session", sessionId), ("$s", ""), ("$d", ""), ("$p", ""), ("$size", 0L), ("$version", null), ("$modified", null),
            ("$out", 0L), ("$md5", null), ("$sha", null), ("$now", now));
        var ids = new StringBuilder("[", transfers.Count * 8);
        foreach (var done in transfers)
        {
            upsert.Parameters["$s"].Value = done.Key.Source;
            upsert.Parameters["$d"].Value = done.Key.Destination;
            upsert.Parameters["$p"].Value = done.Key.Pipeline;
            upsert.Parameters["$size"].Value = done.Source.Size;
            upsert.Parameters["$version"].Value = (object?)done.Source.Version ?? DBNull.Value;
            upsert.Parameters["$modified"].Value = (object?)done.Source.Modified?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            upsert.Parameters["$out"].Value = done.Completion.OutputSize;
            upsert.Parameters["$md5"].Value = (object?)done.Completion.Md5 ?? DBNull.Value;
            upsert.Parameters["$sha"].Value = (object?)done.Completion.Sha256 ?? DBNull.Value;
            var id = (long)(await upsert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (ids.Length > 1) ids.Append(',');
            ids.Append(id.ToString(CultureInfo.InvariantCulture));
        }
        var batch = ids.Append(']').ToString();
        await c.Command("DELETE FROM chunks WHERE transfer_id IN (SELECT value FROM json_each($ids))", tx, ("$ids", batch))
            .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await c.Command(RecordSessionFiles, tx, ("$ids", batch)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task FailTransferAsync(TransferLease lease, string error, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        await FencedUpdateAsync(c, tx, lease, "UPDATE transfers SET status = 'Failed', last_error = $error, updated_at = $now WHERE id = $id AND epoch = $epoch",
            cancellationToken, ("$error", Location.RedactUrls(error)), ("$now", Now())).ConfigureAwait(false);
        await c.Command(RecordSessionFile, tx, ("$id", lease.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs an UPDATE of the transfer's row on behalf of <paramref name="lease"/> ($id and $epoch bound); no row
    /// matched: another process took the transfer over, and the transaction, if any, is left to be rolled back.</summary>
    private static async Task FencedUpdateAsync(Pooled c, SqliteTransaction? tx, TransferLease lease, string sql, CancellationToken cancellationToken,
        params (string, object?)[] parameters)
    {
        var updated = await c.Command(sql, tx, [.. parameters, ("$id", lease.Id), ("$epoch", lease.Epoch)]).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (updated == 0) throw new TransferFencedException(lease);
    }

    /// <summary>Records the transfer <c>$id</c>'s new state in its session's record (<see cref="ManifestRows.RecordSessionFile"/>),
    /// in the transaction that changed it.</summary>
    private static readonly string RecordSessionFile = ManifestRows.RecordSessionFile("transfers WHERE id = $id");

    /// <summary>The same for every transfer whose id is in the JSON array <c>$ids</c>.</summary>
    private static readonly string RecordSessionFiles = ManifestRows.RecordSessionFile("transfers WHERE id IN (SELECT value FROM json_each($ids))");

    public async IAsyncEnumerable<SessionRecord> ListSessionsAsync(int limit, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command("SELECT " + ManifestRows.SessionColumns + " FROM sessions ORDER BY id DESC LIMIT $limit", null, ("$limit", limit))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return ManifestRows.ReadSession(r);
    }

    public async Task<SessionRecord?> GetSessionAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command("SELECT " + ManifestRows.SessionColumns + " FROM sessions WHERE id = $id", null, ("$id", sessionId))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? ManifestRows.ReadSession(r) : null;
    }

    public async IAsyncEnumerable<TransferRecord> ListTransfersAsync(long? sessionId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var cmd = sessionId is null
            ? c.Command(TransferSelect + " ORDER BY id")
            : c.Command(SessionFilesSelect, null, ("$session", sessionId));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return ManifestRows.ReadTransfer(reader);
    }

    private static readonly string SessionFilesSelect = ManifestRows.SessionFilesSelect("$session");

    public async IAsyncEnumerable<ProjectRecord> ListProjectsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command("""
            SELECT project, COUNT(*), SUM(files), SUM(bytes), MAX(started_at) FROM sessions
            WHERE project IS NOT NULL GROUP BY project ORDER BY project
            """).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return new ProjectRecord(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), ManifestRows.Time(r.GetInt64(4)));
    }

    public async Task<string?> GetConfigSnapshotAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await c.Command("SELECT config FROM sessions WHERE id = $id", null, ("$id", sessionId))
            .ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed) CloseLockFile(Path);
        _disposed = true;
        while (_idle.TryDequeue(out var pooled)) pooled.Close();
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }

    private const string TransferSelect = "SELECT " + ManifestRows.TransferColumns + " FROM transfers";

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // Open connections not in use, each with its pragmas set and its statements prepared. A few are kept: as many as
    // calls run at once (about --transfers); more are closed when they come back.
    private readonly System.Collections.Concurrent.ConcurrentQueue<Pooled> _idle = new();
    private int _idleCount;
    private volatile bool _disposed;
    private const int IdleKept = 32;

    private async ValueTask<Pooled> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        if (_idle.TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref _idleCount);
            return pooled;
        }
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragmas = connection.CreateCommand();
            pragmas.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new Pooled(this, connection);
    }

    private void Return(Pooled pooled)
    {
        // A connection left inside a transaction (a failure between BEGIN and its rollback) is not reused.
        if (_disposed || pooled.Connection.State != System.Data.ConnectionState.Open || SQLitePCL.raw.sqlite3_get_autocommit(pooled.Connection.Handle) == 0)
        {
            pooled.Close();
            return;
        }
        if (Interlocked.Increment(ref _idleCount) > IdleKept)
        {
            Interlocked.Decrement(ref _idleCount);
            pooled.Close();
            return;
        }
        _idle.Enqueue(pooled);
        // Disposed meanwhile: it closes what it finds, this one included, or this one is closed here.
        if (_disposed && _idle.TryDequeue(out var late)) late.Close();
    }

    private async Task ExecAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await c.Command(sql, null, parameters).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One open connection of the pool, with the statements run on it kept prepared (by their SQL text).
    /// Disposing it gives it back. A command it hands out is its own: run it, read it to the end, never dispose it.</summary>
    private sealed class Pooled(SqliteManifest owner, SqliteConnection connection) : IAsyncDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public SqliteConnection Connection { get; } = connection;

        public SqliteTransaction Begin(bool deferred = false) => Connection.BeginTransaction(deferred);

        public SqliteCommand Command(string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
        {
            if (!_commands.TryGetValue(sql, out var cmd))
            {
                cmd = Connection.CreateCommand();
                cmd.CommandText = sql;
                foreach (var (name, _) in parameters) cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
                _commands[sql] = cmd;
            }
            cmd.Transaction = transaction;
            foreach (var (name, value) in parameters) cmd.Parameters[name].Value = value ?? DBNull.Value;
            return cmd;
        }

        public ValueTask DisposeAsync()
        {
            owner.Return(this);
            return ValueTask.CompletedTask;
        }

        public void Close()
        {
            foreach (var cmd in _commands.Values) cmd.Dispose();
            _commands.Clear();
            Connection.Dispose();
        }
    }
}
