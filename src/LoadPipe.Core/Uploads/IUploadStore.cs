using System.Buffers;
using System.Data.Common;
using System.Text.Json;
using LoadPipe.Core.Manifest;

namespace LoadPipe.Core.Uploads;

/// <summary>
/// Where the push entry keeps its uploads: beside the transfers, in the manifest, so that every process sharing it
/// answers for every upload. Both manifests implement it; <see cref="UploadService"/> finds it with
/// <c>manifest as IUploadStore</c>. An upload's bytes confirmed at the destination are an ordinary transfer (its chunks,
/// sink state and epoch, fenced by its <see cref="TransferLease"/>); what it received beyond them, the unaligned tail
/// a store could not take yet (less than an S3 part), is kept here as segments of bytes until a store write takes them.
/// <para>Every call is atomic. The ones that change what an upload holds (<see cref="CreateUploadAsync"/>,
/// <see cref="RecordAppendAsync"/>, <see cref="CompleteUploadAsync"/>) are durable when they return, power loss
/// included: SQLite commits them with <c>synchronous=FULL</c>, where its other calls keep NORMAL.</para>
/// </summary>
public interface IUploadStore
{
    /// <summary>Records a new upload and takes its transfer (<paramref name="key"/>: created, or reset to nothing confirmed
    /// when an aborted upload of the same id left one), in one transaction. The returned record's <see cref="UploadRecord.Epoch"/>
    /// is the new lease's.</summary>
    /// <exception cref="UploadConflictException">An upload with this id exists.</exception>
    /// <exception cref="Errors.LoadPipeException"><see cref="Errors.ErrorKind.Busy"/>: another open upload has this destination.</exception>
    Task<UploadRecord> CreateUploadAsync(NewUploadRecord upload, TransferKey key, long sessionId, CancellationToken cancellationToken = default);

    /// <summary>The upload with its transfer's state, or null.</summary>
    Task<UploadRecord?> GetUploadAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Sets the length of an open upload whose length is deferred, when <paramref name="length"/> is at least its
    /// offset; otherwise changes nothing. Returns the upload as it stands after (null when there is none): the caller
    /// compares.</summary>
    Task<UploadRecord?> DeclareUploadLengthAsync(string id, long length, CancellationToken cancellationToken = default);

    /// <summary>The upload's tail segments, in order: together they are the bytes from its transfer's confirmed end on.</summary>
    Task<IReadOnlyList<UploadTailSegment>> GetUploadTailAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Records what an append made durable, in one transaction: the chunks the destination confirmed (with the
    /// sink state after them), the tail segments they consumed dropped, the new tail segment, the upload's new offset
    /// (and its new expiry, when the append renews it).</summary>
    /// <exception cref="TransferFencedException">Another process took the upload's transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task RecordAppendAsync(TransferLease lease, string id, UploadAppendRecord append, CancellationToken cancellationToken = default);

    /// <summary>Completes the upload and its transfer with the object's hashes, and drops its tail, in one transaction.
    /// <paramref name="length"/>, for an upload still of deferred length, declares it in the same transaction (the
    /// append that ends such an upload, <see cref="AppendOptions.Complete"/>); its offset becomes that length.</summary>
    /// <exception cref="TransferFencedException">Another process took the upload's transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task CompleteUploadAsync(TransferLease lease, string id, TransferCompletion completion, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes the upload and its tail (its transfer stays, for `lp status`). False when there was none.</summary>
    Task<bool> DeleteUploadAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes the upload with its transfer (its chunks, tail and session file go with it), as if it was never
    /// made: `lp status` does not show it. False when there was none.</summary>
    Task<bool> DiscardUploadAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Uploads that expired before <paramref name="now"/>, open ones and completed intermediate ones, oldest expiry
    /// first, at most <paramref name="limit"/>.</summary>
    IAsyncEnumerable<UploadRecord> ListExpiredUploadsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);
}

/// <summary>An upload to record: <see cref="Destination"/> is the destination's key, <see cref="Pipeline"/> its stage specs joined.</summary>
/// <param name="Provisional">See <see cref="NewUpload.Provisional"/>: the creation is committed without waiting for the disk.</param>
public sealed record NewUploadRecord(string Id, string Destination, string Pipeline, long? Length, IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset Created, DateTimeOffset? Expires, bool Intermediate = false, bool Provisional = false);

/// <summary>An upload as the manifest holds it, with the state of its transfer.</summary>
public sealed record UploadRecord
{
    public required string Id { get; init; }
    public required long TransferId { get; init; }
    public required string Destination { get; init; }
    public required string Pipeline { get; init; }
    public long? Length { get; init; }
    /// <summary>Bytes received and durable (input bytes, before any stage).</summary>
    public long Offset { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset? Expires { get; init; }
    public bool Intermediate { get; init; }
    public UploadStatus Status { get; init; }
    public string? Sha256 { get; init; }
    public string? Md5 { get; init; }
    /// <summary>The transfer's epoch: whoever took it last.</summary>
    public long Epoch { get; init; }
    /// <summary>Output bytes the destination confirmed (the transfer's).</summary>
    public long BytesConfirmed { get; init; }
    public string? SinkState { get; init; }
    /// <summary>The sequence number the next confirmed chunk takes.</summary>
    public int NextChunk { get; init; }
    /// <summary>Output bytes held in tail segments, after <see cref="BytesConfirmed"/>.</summary>
    public long TailLength { get; init; }

    public TransferLease Lease => new(TransferId, Epoch);

    /// <summary>The upload's transfer key: its own source ("upload:ID"), its destination and pipeline.</summary>
    public TransferKey Key => UploadRows.KeyOf(Id, Destination, Pipeline);

    public Upload ToUpload() => new()
    {
        Id = Id, Destination = Destination, Offset = Offset, Length = Length, Metadata = Metadata, Created = Created, Expires = Expires,
        Status = Status, Sha256 = Sha256, Md5 = Md5, TransferId = TransferId, Intermediate = Intermediate,
    };
}

/// <summary>Bytes of an upload's output from <see cref="Start"/> on, received but not yet written to the destination.</summary>
public sealed record UploadTailSegment(long Start, byte[] Bytes)
{
    public long End => Start + Bytes.Length;
}

/// <param name="Offset">The upload's offset after the append.</param>
/// <param name="Chunks">Store writes this append made durable, in order (none: the append only added to the tail).</param>
/// <param name="SinkState">The write session's resume state after <paramref name="Chunks"/>; ignored without chunks.</param>
/// <param name="DropTail">The chunks took every tail segment recorded before this append.</param>
/// <param name="NewTail">Bytes after the chunks (or after the kept tail) to keep; null: none.</param>
/// <param name="Expires">The upload's new expiry; null: unchanged.</param>
public sealed record UploadAppendRecord(long Offset, IReadOnlyList<ChunkRecord> Chunks, string? SinkState, bool DropTail, UploadTailSegment? NewTail,
    DateTimeOffset? Expires = null);

/// <summary>The row shape both SQL manifests share for uploads, as <see cref="ManifestRows"/> is for transfers.</summary>
public static class UploadRows
{
    /// <summary>The columns <see cref="ReadUpload"/> reads, from <c>uploads u JOIN transfers t ON t.id = u.transfer_id</c>;
    /// <paramref name="tailLength"/>: the SQL of a segment's length (SQLite <c>length</c>, PostgreSQL <c>octet_length</c>).</summary>
    public static string Select(string tailLength) => $"""
        SELECT u.id, u.transfer_id, u.destination, u.pipeline, u.length, u.upload_offset, u.metadata, u.created_at, u.expires_at, u.status,
            u.sha256, u.md5, t.epoch, t.bytes_confirmed, t.sink_state,
            (SELECT COALESCE(MAX(c.seq) + 1, 0) FROM chunks c WHERE c.transfer_id = u.transfer_id),
            (SELECT COALESCE(SUM({tailLength}(s.bytes)), 0) FROM upload_tails s WHERE s.upload_id = u.id),
            u.intermediate
        FROM uploads u JOIN transfers t ON t.id = u.transfer_id
        """;

    public static UploadRecord ReadUpload(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        TransferId = r.GetInt64(1),
        Destination = r.GetString(2),
        Pipeline = r.GetString(3),
        Length = r.IsDBNull(4) ? null : r.GetInt64(4),
        Offset = r.GetInt64(5),
        Metadata = ReadMetadata(r.GetString(6)),
        Created = ManifestRows.Time(r.GetInt64(7)),
        Expires = r.IsDBNull(8) ? null : ManifestRows.Time(r.GetInt64(8)),
        Status = r.GetString(9) == nameof(UploadStatus.Completed) ? UploadStatus.Completed : UploadStatus.Open,
        Sha256 = r.IsDBNull(10) ? null : r.GetString(10),
        Md5 = r.IsDBNull(11) ? null : r.GetString(11),
        Epoch = r.GetInt64(12),
        BytesConfirmed = r.GetInt64(13),
        SinkState = r.IsDBNull(14) ? null : r.GetString(14),
        NextChunk = Convert.ToInt32(r.GetValue(15), System.Globalization.CultureInfo.InvariantCulture),
        TailLength = Convert.ToInt64(r.GetValue(16), System.Globalization.CultureInfo.InvariantCulture),
        Intermediate = Convert.ToInt64(r.GetValue(17), System.Globalization.CultureInfo.InvariantCulture) != 0,
    };

    /// <summary>The transfer key of upload <paramref name="id"/>: its source is "upload:ID", which no location resolves to.</summary>
    public static TransferKey KeyOf(string id, string destination, string pipeline) => new(SourcePrefix + id, destination, pipeline);

    private const string SourcePrefix = "upload:";

    /// <summary>True for the source of an upload's transfer: nothing can be read from it again (`lp retry` leaves it
    /// out), and its write session belongs to the upload until it completes, aborts or expires (`lp cleanup` leaves it).</summary>
    public static bool IsUploadSource(string source) => source.StartsWith(SourcePrefix, StringComparison.Ordinal);

    /// <summary>The metadata as a JSON object of strings, written by hand: no reflection (Native AOT).</summary>
    public static string WriteMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in metadata) json.WriteString(key, value);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyDictionary<string, string> ReadMetadata(string json)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        foreach (var property in document.RootElement.EnumerateObject())
            metadata[property.Name] = property.Value.GetString() ?? "";
        return metadata;
    }
}
