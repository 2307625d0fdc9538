using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;
using Npgsql;

namespace LoadPipe.Manifest.Postgres;

/// <summary>The push entry's uploads (<see cref="IUploadStore"/>): tables <c>uploads</c> and <c>upload_tails</c>. The calls
/// that change several tables run in one transaction on one pooled connection; PostgreSQL's commit is durable
/// (synchronous_commit on, the default).</summary>
public sealed partial class PostgresManifest : IUploadStore
{
    private static readonly string UploadSelect = UploadRows.Select("octet_length");

    public async Task<UploadRecord> CreateUploadAsync(NewUploadRecord upload, TransferKey key, long sessionId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await InTransactionAsync(async (c, tx) =>
            {
                // A provisional upload's creation does not wait for the log's flush: the completion's commit flushes it.
                if (upload.Provisional) await ExecAsync(c, tx, "SET LOCAL synchronous_commit = off", cancellationToken).ConfigureAwait(false);
                await using (var exists = Cmd(c, tx, "SELECT upload_offset FROM uploads WHERE id = @id", ("id", upload.Id)))
                    if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long offset)
                        throw new UploadConflictException($"upload {upload.Id} already exists", offset);
                await using (var open = Cmd(c, tx, "SELECT id FROM uploads WHERE destination = @d AND status = 'Open'", ("d", upload.Destination)))
                    if (await open.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string other)
                        throw DestinationBusy(upload.Destination, other);
                long id;
                await using (var transfer = Cmd(c, tx, """
                    INSERT INTO transfers(session_id, source, destination, pipeline, source_size, status, updated_at, epoch)
                    VALUES (@session, @s, @d, @p, @size, 'InProgress', @now, 1)
                    ON CONFLICT (source, destination, pipeline) DO UPDATE SET
                        session_id = excluded.session_id, source_size = excluded.source_size, source_version = NULL, source_modified = NULL,
                        status = 'InProgress', sink_state = NULL, bytes_confirmed = 0, attempts = 1, last_error = NULL, md5 = NULL, sha256 = NULL,
                        output_size = -1, updated_at = excluded.updated_at, epoch = transfers.epoch + 1
                    RETURNING id
                    """, ("session", sessionId), ("s", key.Source), ("d", key.Destination), ("p", key.Pipeline), ("size", upload.Length ?? -1), ("now", Now())))
                    id = (long)(await transfer.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                await ExecAsync(c, tx, "DELETE FROM chunks WHERE transfer_id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
                await ExecAsync(c, tx, ManifestRows.RecordSessionFile("transfers WHERE id = @id"), cancellationToken, ("id", id)).ConfigureAwait(false);
                await ExecAsync(c, tx, """
                    INSERT INTO uploads(id, transfer_id, destination, pipeline, length, metadata, created_at, expires_at, status, updated_at, intermediate)
                    VALUES (@id, @transfer, @d, @p, @length, @metadata, @created, @expires, 'Open', @now, @intermediate)
                    """, cancellationToken, ("id", upload.Id), ("transfer", id), ("d", upload.Destination), ("p", upload.Pipeline), ("length", upload.Length),
                    ("metadata", UploadRows.WriteMetadata(upload.Metadata)), ("created", upload.Created.ToUnixTimeMilliseconds()),
                    ("expires", upload.Expires?.ToUnixTimeMilliseconds()), ("now", Now()), ("intermediate", upload.Intermediate ? 1 : 0)).ConfigureAwait(false);
                return (await ReadUploadAsync(c, tx, upload.Id, cancellationToken).ConfigureAwait(false))!;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName is "uploads_pkey" or "uploads_open_destination")
        {
            // Another process created it between the checks and the insert.
            throw e.ConstraintName == "uploads_pkey"
                ? new UploadConflictException($"upload {upload.Id} already exists", 0)
                : DestinationBusy(upload.Destination, "(another)");
        }
    }

    private static UploadDestinationBusyException DestinationBusy(string destination, string other) =>
        new($"destination busy: upload {other} is still open for {Core.Locations.Location.Display(destination)}");

    public async Task<UploadRecord?> GetUploadAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(UploadSelect + " WHERE u.id = @id", ("id", id));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? UploadRows.ReadUpload(r) : null;
    }

    private static async Task<UploadRecord?> ReadUploadAsync(NpgsqlConnection c, NpgsqlTransaction tx, string id, CancellationToken cancellationToken)
    {
        await using var cmd = Cmd(c, tx, UploadSelect + " WHERE u.id = @id", ("id", id));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? UploadRows.ReadUpload(r) : null;
    }

    public Task<UploadRecord?> DeclareUploadLengthAsync(string id, long length, CancellationToken cancellationToken = default) =>
        InTransactionAsync(async (c, tx) =>
        {
            await ExecAsync(c, tx, """
                WITH declared AS (
                    UPDATE uploads SET length = @length, updated_at = @now
                    WHERE id = @id AND status = 'Open' AND length IS NULL AND upload_offset <= @length RETURNING transfer_id
                )
                UPDATE transfers SET source_size = @length WHERE id IN (SELECT transfer_id FROM declared)
                """, cancellationToken, ("length", length), ("now", Now()), ("id", id)).ConfigureAwait(false);
            return await ReadUploadAsync(c, tx, id, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<IReadOnlyList<UploadTailSegment>> GetUploadTailAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("SELECT start, bytes FROM upload_tails WHERE upload_id = @id ORDER BY start", ("id", id));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var segments = new List<UploadTailSegment>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            segments.Add(new UploadTailSegment(r.GetInt64(0), (byte[])r.GetValue(1)));
        return segments;
    }

    public Task RecordAppendAsync(TransferLease lease, string id, UploadAppendRecord append, CancellationToken cancellationToken = default) =>
        InTransactionAsync(async (c, tx) =>
        {
            var held = append.Chunks.Count > 0
                ? await ExecAsync(c, tx, "UPDATE transfers SET bytes_confirmed = @end, sink_state = @state, updated_at = @now WHERE id = @id AND epoch = @epoch",
                    cancellationToken, ("end", append.Chunks[^1].End), ("state", append.SinkState), ("now", Now()), ("id", lease.Id), ("epoch", lease.Epoch)).ConfigureAwait(false)
                : await ExecAsync(c, tx, "UPDATE transfers SET updated_at = @now WHERE id = @id AND epoch = @epoch",
                    cancellationToken, ("now", Now()), ("id", lease.Id), ("epoch", lease.Epoch)).ConfigureAwait(false);
            if (held == 0) throw new TransferFencedException(lease);
            foreach (var chunk in append.Chunks)
                await ExecAsync(c, tx, """
                    INSERT INTO chunks(transfer_id, seq, "offset", length, input_end, checksum) VALUES (@id, @seq, @offset, @length, @input::bigint, @sum)
                    ON CONFLICT (transfer_id, seq) DO UPDATE SET
                        "offset" = excluded."offset", length = excluded.length, input_end = excluded.input_end, checksum = excluded.checksum
                    """, cancellationToken, ("id", lease.Id), ("seq", chunk.Sequence), ("offset", chunk.Offset), ("length", chunk.Length),
                    ("input", chunk.InputEnd), ("sum", chunk.Checksum)).ConfigureAwait(false);
            if (append.DropTail)
                await ExecAsync(c, tx, "DELETE FROM upload_tails WHERE upload_id = @u", cancellationToken, ("u", id)).ConfigureAwait(false);
            if (append.NewTail is { } tail)
                await ExecAsync(c, tx, "INSERT INTO upload_tails(upload_id, start, bytes) VALUES (@u, @start, @bytes)", cancellationToken,
                    ("u", id), ("start", tail.Start), ("bytes", tail.Bytes)).ConfigureAwait(false);
            if (await ExecAsync(c, tx, """
                    UPDATE uploads SET upload_offset = @offset, expires_at = COALESCE(@expires::bigint, expires_at), updated_at = @now
                    WHERE id = @u AND transfer_id = @id AND status = 'Open'
                    """, cancellationToken, ("offset", append.Offset), ("expires", append.Expires?.ToUnixTimeMilliseconds()), ("now", Now()), ("u", id),
                    ("id", lease.Id)).ConfigureAwait(false) == 0)
                throw new UploadNotFoundException(id);
            return true;
        }, cancellationToken);

    public Task CompleteUploadAsync(TransferLease lease, string id, TransferCompletion completion, long? length = null, CancellationToken cancellationToken = default) =>
        InTransactionAsync(async (c, tx) =>
        {
            if (await ExecAsync(c, tx, """
                UPDATE transfers SET status = 'Completed', sink_state = NULL, md5 = @md5, sha256 = @sha, output_size = @size,
                    bytes_confirmed = @size, last_error = NULL, updated_at = @now WHERE id = @id AND epoch = @epoch
                """, cancellationToken, ("md5", completion.Md5), ("sha", completion.Sha256), ("size", completion.OutputSize), ("now", Now()),
                ("id", lease.Id), ("epoch", lease.Epoch)).ConfigureAwait(false) == 0)
                throw new TransferFencedException(lease);
            await ExecAsync(c, tx, "DELETE FROM chunks WHERE transfer_id = @id", cancellationToken, ("id", lease.Id)).ConfigureAwait(false);
            await ExecAsync(c, tx, ManifestRows.RecordSessionFile("transfers WHERE id = @id"), cancellationToken, ("id", lease.Id)).ConfigureAwait(false);
            await ExecAsync(c, tx, "DELETE FROM upload_tails WHERE upload_id = @u", cancellationToken, ("u", id)).ConfigureAwait(false);
            if (await ExecAsync(c, tx, """
                UPDATE uploads SET status = 'Completed', length = COALESCE(length, CAST(@length AS bigint)), upload_offset = COALESCE(length, CAST(@length AS bigint), upload_offset),
                    sha256 = @sha, md5 = @md5, updated_at = @now
                WHERE id = @u AND transfer_id = @id
                """, cancellationToken, ("length", length), ("sha", completion.Sha256), ("md5", completion.Md5), ("now", Now()), ("u", id), ("id", lease.Id)).ConfigureAwait(false) == 0)
                throw new UploadNotFoundException(id);
            if (length is not null)
                await ExecAsync(c, tx, "UPDATE transfers SET source_size = CAST(@length AS bigint) WHERE id = @id AND source_size < 0", cancellationToken,
                    ("length", length), ("id", lease.Id)).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public async Task<bool> DeleteUploadAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("DELETE FROM uploads WHERE id = @id", ("id", id));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<bool> DiscardUploadAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var cmd = Command("DELETE FROM transfers WHERE id = (SELECT transfer_id FROM uploads WHERE id = @id)", ("id", id));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async IAsyncEnumerable<UploadRecord> ListExpiredUploadsAsync(DateTimeOffset now, int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = Command(UploadSelect + """
             WHERE (u.status = 'Open' OR u.intermediate = 1) AND u.expires_at IS NOT NULL AND u.expires_at < @now ORDER BY u.expires_at, u.id LIMIT @limit
            """, ("now", now.ToUnixTimeMilliseconds()), ("limit", limit));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return UploadRows.ReadUpload(r);
    }

    private async Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var result = await work(connection, tx).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static NpgsqlCommand Cmd(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = new NpgsqlCommand(sql, connection, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static async Task<int> ExecAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Cmd(connection, tx, sql, parameters);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
