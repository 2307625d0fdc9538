using System.Runtime.CompilerServices;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;
using Microsoft.Data.Sqlite;

namespace LoadPipe.Manifest.Sqlite;

/// <summary>The push entry's uploads (<see cref="IUploadStore"/>): tables <c>uploads</c> and <c>upload_tails</c>.</summary>
public sealed partial class SqliteManifest : IUploadStore
{
    private static readonly string UploadSelect = UploadRows.Select("length");

    /// <summary>A provisional upload's creation is committed as the manifest's other writes are (synchronous=NORMAL): the
    /// completion's commit, with synchronous=FULL, syncs the log up to and past it.</summary>
    public Task<UploadRecord> CreateUploadAsync(NewUploadRecord upload, TransferKey key, long sessionId, CancellationToken cancellationToken = default) =>
        WriteAsync(durable: !upload.Provisional, async (c, tx) =>
        {
            if (await c.Command("SELECT upload_offset FROM uploads WHERE id = $id", tx, ("$id", upload.Id)).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long offset)
                throw new UploadConflictException($"upload {upload.Id} already exists", offset);
            if (await c.Command("SELECT id FROM uploads WHERE destination = $d AND status = 'Open'", tx, ("$d", upload.Destination))
                .ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string other)
                throw DestinationBusy(upload.Destination, other);
            var id = (long)(await c.Command("""
                INSERT INTO transfers(session_id, source, destination, pipeline, source_size, status, updated_at, epoch)
                VALUES ($session, $s, $d, $p, $size, 'InProgress', $now, 1)
                ON CONFLICT(source, destination, pipeline) DO UPDATE SET
                    session_id = excluded.session_id, source_size = excluded.source_size, source_version = NULL, source_modified = NULL,
                    status = 'InProgress', sink_state = NULL, bytes_confirmed = 0, attempts = 1, last_error = NULL, md5 = NULL, sha256 = NULL,
                    output_size = -1, updated_at = excluded.updated_at, epoch = transfers.epoch + 1
                RETURNING id
                """, tx, ("$session", sessionId), ("$s", key.Source), ("$d", key.Destination), ("$p", key.Pipeline),
                ("$size", upload.Length ?? -1), ("$now", Now())).ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            await c.Command("DELETE FROM chunks WHERE transfer_id = $id", tx, ("$id", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await c.Command(RecordSessionFile, tx, ("$id", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await c.Command("""
                INSERT INTO uploads(id, transfer_id, destination, pipeline, length, metadata, created_at, expires_at, status, updated_at, intermediate)
                VALUES ($id, $transfer, $d, $p, $length, $metadata, $created, $expires, 'Open', $now, $intermediate)
                """, tx, ("$id", upload.Id), ("$transfer", id), ("$d", upload.Destination), ("$p", upload.Pipeline), ("$length", upload.Length),
                ("$metadata", UploadRows.WriteMetadata(upload.Metadata)), ("$created", upload.Created.ToUnixTimeMilliseconds()),
                ("$expires", upload.Expires?.ToUnixTimeMilliseconds()), ("$now", Now()), ("$intermediate", upload.Intermediate ? 1 : 0)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return (await ReadUploadAsync(c, tx, upload.Id, cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);

    internal static UploadDestinationBusyException DestinationBusy(string destination, string other) =>
        new($"destination busy: upload {other} is still open for {Core.Locations.Location.Display(destination)}");

    public async Task<UploadRecord?> GetUploadAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadUploadAsync(c, null, id, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<UploadRecord?> ReadUploadAsync(Pooled c, SqliteTransaction? tx, string id, CancellationToken cancellationToken)
    {
        await using var r = await c.Command(UploadSelect + " WHERE u.id = $id", tx, ("$id", id)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? UploadRows.ReadUpload(r) : null;
    }

    public Task<UploadRecord?> DeclareUploadLengthAsync(string id, long length, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) =>
        {
            await c.Command("""
                UPDATE uploads SET length = $length, updated_at = $now WHERE id = $id AND status = 'Open' AND length IS NULL AND upload_offset <= $length
                """, tx, ("$length", length), ("$now", Now()), ("$id", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await c.Command("UPDATE transfers SET source_size = $length WHERE id = (SELECT transfer_id FROM uploads WHERE id = $id AND length = $length)", tx,
                ("$length", length), ("$id", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return await ReadUploadAsync(c, tx, id, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<IReadOnlyList<UploadTailSegment>> GetUploadTailAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command("SELECT start, bytes FROM upload_tails WHERE upload_id = $id ORDER BY start", null, ("$id", id))
            .ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var segments = new List<UploadTailSegment>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            segments.Add(new UploadTailSegment(r.GetInt64(0), (byte[])r.GetValue(1)));
        return segments;
    }

    public Task RecordAppendAsync(TransferLease lease, string id, UploadAppendRecord append, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) =>
        {
            if (append.Chunks.Count > 0)
                await FencedUpdateAsync(c, tx, lease, "UPDATE transfers SET bytes_confirmed = $end, sink_state = $state, updated_at = $now WHERE id = $id AND epoch = $epoch",
                    cancellationToken, ("$end", append.Chunks[^1].End), ("$state", append.SinkState), ("$now", Now())).ConfigureAwait(false);
            else
                await FencedUpdateAsync(c, tx, lease, "UPDATE transfers SET updated_at = $now WHERE id = $id AND epoch = $epoch",
                    cancellationToken, ("$now", Now())).ConfigureAwait(false);
            foreach (var chunk in append.Chunks)
                await c.Command("""
                    INSERT OR REPLACE INTO chunks(transfer_id, seq, offset, length, input_end, checksum) VALUES ($id, $seq, $offset, $length, $input, $sum)
                    """, tx, ("$id", lease.Id), ("$seq", chunk.Sequence), ("$offset", chunk.Offset), ("$length", chunk.Length), ("$input", chunk.InputEnd),
                    ("$sum", chunk.Checksum)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (append.DropTail)
                await c.Command("DELETE FROM upload_tails WHERE upload_id = $u", tx, ("$u", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (append.NewTail is { } tail)
                await c.Command("INSERT INTO upload_tails(upload_id, start, bytes) VALUES ($u, $start, $bytes)", tx,
                    ("$u", id), ("$start", tail.Start), ("$bytes", tail.Bytes)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            var updated = await c.Command("""
                UPDATE uploads SET upload_offset = $offset, expires_at = COALESCE($expires, expires_at), updated_at = $now
                WHERE id = $u AND transfer_id = $id AND status = 'Open'
                """, tx, ("$offset", append.Offset), ("$expires", append.Expires?.ToUnixTimeMilliseconds()), ("$now", Now()), ("$u", id), ("$id", lease.Id))
                .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (updated == 0) throw new UploadNotFoundException(id);
            return true;
        }, cancellationToken);

    public Task CompleteUploadAsync(TransferLease lease, string id, TransferCompletion completion, long? length = null, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) =>
        {
            await FencedUpdateAsync(c, tx, lease, """
                UPDATE transfers SET status = 'Completed', sink_state = NULL, md5 = $md5, sha256 = $sha, output_size = $size,
                    bytes_confirmed = $size, last_error = NULL, updated_at = $now WHERE id = $id AND epoch = $epoch
                """, cancellationToken, ("$md5", completion.Md5), ("$sha", completion.Sha256), ("$size", completion.OutputSize), ("$now", Now())).ConfigureAwait(false);
            await c.Command("DELETE FROM chunks WHERE transfer_id = $id", tx, ("$id", lease.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await c.Command(RecordSessionFile, tx, ("$id", lease.Id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await c.Command("DELETE FROM upload_tails WHERE upload_id = $u", tx, ("$u", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            var updated = await c.Command("""
                UPDATE uploads SET status = 'Completed', length = COALESCE(length, $length), upload_offset = COALESCE(length, $length, upload_offset),
                    sha256 = $sha, md5 = $md5, updated_at = $now
                WHERE id = $u AND transfer_id = $id
                """, tx, ("$length", length), ("$sha", completion.Sha256), ("$md5", completion.Md5), ("$now", Now()), ("$u", id), ("$id", lease.Id))
                .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (length is not null)
                await c.Command("UPDATE transfers SET source_size = $length WHERE id = $id AND source_size < 0", tx, ("$length", length), ("$id", lease.Id))
                    .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (updated == 0) throw new UploadNotFoundException(id);
            return true;
        }, cancellationToken);

    public Task<bool> DeleteUploadAsync(string id, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) =>
            await c.Command("DELETE FROM uploads WHERE id = $id", tx, ("$id", id)).ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0,
            cancellationToken);

    public Task<bool> DiscardUploadAsync(string id, CancellationToken cancellationToken = default) =>
        DurablyAsync(async (c, tx) =>
            await c.Command("DELETE FROM transfers WHERE id = (SELECT transfer_id FROM uploads WHERE id = $id)", tx, ("$id", id))
                .ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0,
            cancellationToken);

    public async IAsyncEnumerable<UploadRecord> ListExpiredUploadsAsync(DateTimeOffset now, int limit,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var r = await c.Command(UploadSelect + """
             WHERE (u.status = 'Open' OR u.intermediate = 1) AND u.expires_at IS NOT NULL AND u.expires_at < $now ORDER BY u.expires_at, u.id LIMIT $limit
            """, null, ("$now", now.ToUnixTimeMilliseconds()), ("$limit", limit)).ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return UploadRows.ReadUpload(r);
    }

    private Task<T> WriteAsync<T>(bool durable, Func<Pooled, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        durable ? DurablyAsync(work, cancellationToken) : InTransactionAsync(work, cancellationToken);

    /// <summary>One write transaction, committed as the connection's setting says (synchronous=NORMAL).</summary>
    private async Task<T> InTransactionAsync<T>(Func<Pooled, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = c.Begin();
        var result = await work(c, tx).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }
}
