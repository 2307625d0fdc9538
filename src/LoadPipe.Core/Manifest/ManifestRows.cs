using System.Data.Common;

namespace LoadPipe.Core.Manifest;

/// <summary>
/// The row shapes every SQL manifest shares: one column list and one reader for transfers, sessions likewise,
/// so SQLite and PostgreSQL cannot drift apart. Times are Unix milliseconds.
/// </summary>
public static class ManifestRows
{
    public const string TransferColumns = """
        id, source, destination, pipeline, session_id, source_size, source_version, source_modified, status, sink_state,
        bytes_confirmed, attempts, last_error, md5, sha256, output_size, updated_at, epoch
        """;

    /// <summary>
    /// Copies a transfer's state, as the statement before it in the same transaction left it, into the record of the
    /// session working on it (<c>session_files</c>): every start, attach, completion and failure runs it, so each
    /// session keeps what it did to each file while <c>transfers</c> holds the current state that skipping reads.
    /// <paramref name="from"/> names the rows: a table with a WHERE (SQLite needs one before ON CONFLICT), or a CTE
    /// that returns the transfer's columns.
    /// </summary>
    public static string RecordSessionFile(string from) => $"""
        INSERT INTO session_files(session_id, transfer_id, status, bytes, error, md5, sha256, updated_at)
        SELECT session_id, id, status, CASE status WHEN 'Completed' THEN output_size ELSE bytes_confirmed END,
            CASE status WHEN 'Failed' THEN last_error END, md5, sha256, updated_at FROM {from}
        ON CONFLICT (session_id, transfer_id) DO UPDATE SET status = excluded.status, bytes = excluded.bytes,
            error = excluded.error, md5 = excluded.md5, sha256 = excluded.sha256, updated_at = excluded.updated_at
        """;

    /// <summary>One session's files (<see cref="IManifest.ListTransfersAsync"/>) in <see cref="TransferColumns"/>' order,
    /// for <see cref="ReadTransfer"/>: the key and the source from the transfer, the rest from the session's record. A
    /// file the session is still working on (it holds the transfer, in progress) shows its confirmed bytes as they grow.
    /// <paramref name="session"/>: the parameter's name with its prefix.</summary>
    public static string SessionFilesSelect(string session) => $"""
        SELECT t.id, t.source, t.destination, t.pipeline, f.session_id, t.source_size, t.source_version, t.source_modified, f.status,
            CASE WHEN t.session_id = f.session_id THEN t.sink_state END,
            CASE WHEN f.status = 'InProgress' AND t.session_id = f.session_id THEN t.bytes_confirmed ELSE f.bytes END,
            t.attempts, f.error, f.md5, f.sha256, CASE f.status WHEN 'Completed' THEN f.bytes ELSE -1 END, f.updated_at, t.epoch
        FROM session_files f JOIN transfers t ON t.id = f.transfer_id
        WHERE f.session_id = {session} ORDER BY t.id
        """;

    public const string SessionColumns =
        "id, command, source, destination, project, status, started_at, finished_at, files, files_skipped, files_failed, bytes, bytes_sent";

    /// <summary>The transfer on the reader's row. <paramref name="key"/>: the key it was looked up by, kept instead of
    /// reading the three strings again (a re-run looks up every file of the tree).</summary>
    public static TransferRecord ReadTransfer(DbDataReader r, TransferKey? key = null) => new()
    {
        Id = r.GetInt64(0),
        Key = key ?? new TransferKey(r.GetString(1), r.GetString(2), r.GetString(3)),
        SessionId = r.GetInt64(4),
        Source = new SourceIdentity(r.GetInt64(5), r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : Time(r.GetInt64(7))),
        Status = Status(r.GetString(8)),
        SinkState = r.IsDBNull(9) ? null : r.GetString(9),
        BytesConfirmed = r.GetInt64(10),
        Attempts = r.GetInt32(11),
        LastError = r.IsDBNull(12) ? null : r.GetString(12),
        Md5 = r.IsDBNull(13) ? null : r.GetString(13),
        Sha256 = r.IsDBNull(14) ? null : r.GetString(14),
        OutputSize = r.GetInt64(15),
        UpdatedAt = Time(r.GetInt64(16)),
        Epoch = r.GetInt64(17),
    };

    private static TransferStatus Status(string text) => text switch
    {
        nameof(TransferStatus.Completed) => TransferStatus.Completed,
        nameof(TransferStatus.Pending) => TransferStatus.Pending,
        nameof(TransferStatus.InProgress) => TransferStatus.InProgress,
        nameof(TransferStatus.Failed) => TransferStatus.Failed,
        _ => Enum.Parse<TransferStatus>(text),
    };

    public static SessionRecord ReadSession(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), SessionStatuses.Parse(r.GetString(5)),
        Time(r.GetInt64(6)), r.IsDBNull(7) ? null : Time(r.GetInt64(7)),
        r.GetInt32(8), r.GetInt32(9), r.GetInt32(10), r.GetInt64(11), r.GetInt64(12));

    public static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
