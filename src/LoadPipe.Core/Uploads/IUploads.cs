using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Core.Uploads;

/// <summary>
/// The push entry into the engine: bytes arrive from a client (a tus PATCH, an upload API's body) instead of being
/// pulled from a source. An upload is created for one destination object, receives appends at byte-exact offsets, and
/// is completed into the object (or aborted). Its state lives in the manifest, so any process sharing the manifest
/// answers for any upload, and a process killed with -9 loses nothing it reported as appended.
/// <para>Rules every implementation keeps:</para>
/// <list type="bullet">
/// <item>An append returns only when its bytes are durable: a crash after it returns loses none of them. The offset it
/// reports is the upload's offset from then on, whatever process asks.</item>
/// <item>Offsets are byte-exact. An append may end anywhere, inside an S3 part (5 MiB minimum) or a Drive chunk (256 KiB
/// aligned): the unaligned tail is kept durable and merged with the next append.</item>
/// <item>One append at a time per upload, across processes: a second one gets <see cref="ErrorKind.Busy"/>.</item>
/// <item>Completion hashes every byte of the object (SHA-256, and MD5 unless the service leaves it out), bytes appended by earlier processes included,
/// and records them with the transfer, as a pulled transfer's are.</item>
/// </list>
/// </summary>
public interface IUploads
{
    /// <summary>Creates an upload. Nothing appears at the destination before <see cref="CompleteAsync"/>.</summary>
    /// <exception cref="LoadPipeException"><see cref="ErrorKind.Usage"/> for a destination that cannot take writes or a
    /// pipeline whose stages cannot resume on this entry.</exception>
    Task<Upload> CreateAsync(NewUpload request, CancellationToken cancellationToken = default);

    /// <summary>The upload as it stands now, or null when there is none with that id (never was, aborted, expired and swept).</summary>
    Task<Upload?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Sets the length of an upload created without one. Fails with <see cref="UploadConflictException"/> when it
    /// was already set to another value or is below the bytes already received.</summary>
    Task<Upload> DeclareLengthAsync(string id, long length, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="body"/> at <paramref name="offset"/>, which must be the upload's offset
    /// (<see cref="UploadConflictException"/> otherwise, with nothing read). Returns once every byte taken is durable,
    /// with the new offset. When the body's read fails part way (the client went away) the bytes received before the
    /// failure are kept and made durable, then the failure is rethrown. When the offset reaches a known length, the upload
    /// is completed before this returns (<see cref="UploadStatus.Completed"/>).
    /// </summary>
    /// <exception cref="UploadNotFoundException">No such upload.</exception>
    /// <exception cref="UploadConflictException">The offset is not the upload's, or the upload is completed.</exception>
    /// <exception cref="UploadTooLargeException">The body goes past the upload's length or <see cref="AppendOptions.MaxLength"/>:
    /// the bytes up to that limit are kept (without a checksum) and the rest is not read.</exception>
    /// <exception cref="UploadChecksumException">The body does not match <see cref="AppendOptions.Checksum"/>: nothing of
    /// this append is kept.</exception>
    /// <exception cref="LoadPipeException"><see cref="ErrorKind.Busy"/> while another append to this upload runs;
    /// <see cref="ErrorKind.NoSpace"/> when the destination or the spool is full (the bytes already reported stay).</exception>
    Task<Upload> AppendAsync(string id, long offset, Stream body, AppendOptions options, CancellationToken cancellationToken = default);

    /// <summary>Completes an upload of known length whose bytes have all arrived (appends do it themselves; this is for
    /// a zero-length upload, and to finish one whose process died between its last append and the completion).</summary>
    Task<Upload> CompleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Drops the upload and everything it received; the destination's final name is untouched, except for a
    /// completed <see cref="NewUpload.Intermediate"/> upload, whose object is removed with it. False when there was none.</summary>
    Task<bool> AbortAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Drops an open upload that received nothing, with its transfer record: as if it was never made, so
    /// `lp status` shows no failed file for it. For an upload created in error (the tus server's claim of an object name
    /// that lost a race). False when there was none.</summary>
    /// <exception cref="UploadConflictException">The upload received bytes or is completed: abort it instead.</exception>
    Task<bool> DiscardAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Uploads whose <see cref="Upload.Expires"/> is before <paramref name="now"/>, oldest first, at most
    /// <paramref name="limit"/>: the open ones, and the completed ones that are <see cref="NewUpload.Intermediate"/>. A
    /// sweeper aborts them.</summary>
    IAsyncEnumerable<Upload> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);
}

/// <summary>What to create.</summary>
public sealed record NewUpload
{
    /// <summary>The object the upload becomes (a file path, not a folder).</summary>
    public required Location Destination { get; init; }

    /// <summary>The final length in bytes, or null when the client declares it later (deferred length).</summary>
    public long? Length { get; init; }

    /// <summary>The client's metadata (tus Upload-Metadata), kept with the upload and returned as is.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>When an unfinished upload may be swept away; null: never.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Stage specs applied to the bytes on their way to the destination ("zstd:3"); empty: none. Only stages whose
    /// resume kind allows an append to end anywhere are accepted.</summary>
    public IReadOnlyList<string> Stages { get; init; } = [];

    /// <summary>The id to give the upload (URL-safe); null: a new random one.</summary>
    public string? Id { get; init; }

    /// <summary>The object is an intermediate that something else consumes (a tus partial upload waiting to be joined
    /// into a final one), not a result: its expiry holds after completion too, and aborting the upload (the sweeper,
    /// the consumer once done) removes the object. The destination must be able to remove objects. Default false.</summary>
    public bool Intermediate { get; init; }

    /// <summary>Whether this upload's hashes include MD5 beside SHA-256, whatever <see cref="UploadServiceOptions.Md5"/>
    /// says; null: as the service says. Holds for the hashes kept by the process that created the upload (the ones
    /// <see cref="Upload.Received"/> and the completion report); a completion that reads the bytes back follows the service.</summary>
    public bool? Md5 { get; init; }

    /// <summary>The upload is created, filled and completed by one request (its one append, with
    /// <see cref="AppendOptions.Complete"/>), and nothing about it is reported to a client before that completion: its
    /// creation then need not survive a power loss on its own (the completion's durable record makes it durable too),
    /// and the manifest records it without waiting for the disk. Default false: every step is durable when it returns.</summary>
    public bool Provisional { get; init; }
}

public enum UploadStatus { Open, Completed }

/// <summary>An upload as the manifest holds it.</summary>
public sealed record Upload
{
    public required string Id { get; init; }

    /// <summary>The destination's manifest key (<see cref="Location.Key"/>).</summary>
    public required string Destination { get; init; }

    /// <summary>Bytes received and durable: where the next append starts.</summary>
    public long Offset { get; init; }

    /// <summary>The declared length, or null while it is deferred.</summary>
    public long? Length { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset? Expires { get; init; }

    /// <summary>See <see cref="NewUpload.Intermediate"/>.</summary>
    public bool Intermediate { get; init; }

    public UploadStatus Status { get; init; }

    /// <summary>Hashes of the object's bytes, lowercase hex, once completed.</summary>
    public string? Sha256 { get; init; }

    public string? Md5 { get; init; }

    /// <summary>Hashes of the output received so far (the object's bytes up to <see cref="Offset"/>), as the push entry
    /// computed them on their way to the destination: set on what an append returns when this process saw every one of
    /// those bytes, else null. A front that needs the file's hashes before completing (to check a client's checksum)
    /// takes them from here instead of hashing the body a second time. Through stages they are the stored bytes', not the body's.</summary>
    public UploadHashes? Received { get; init; }

    /// <summary>The transfer in the manifest that carries this upload's chunks (its id, for `lp status`).</summary>
    public long TransferId { get; init; }
}

/// <summary>SHA-256 and, when kept, MD5 of some bytes, lowercase hex.</summary>
public sealed record UploadHashes(string Sha256, string? Md5);

/// <summary>How to take one append.</summary>
public sealed record AppendOptions
{
    /// <summary>The most bytes this append may take, besides the upload's length (a server's per-request limit); null: no limit of its own.</summary>
    public long? MaxLength { get; init; }

    /// <summary>A checksum the whole body must match; null: none.</summary>
    public BodyChecksum? Checksum { get; init; }

    /// <summary>The upload's new expiry, recorded with what the append keeps (in the same transaction), so that an upload
    /// in use is not swept while its client still sends; null: the expiry stays as it is.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>The body is the rest of an upload of deferred length: when it ends, the length is declared there and the
    /// upload is completed before the append returns, in one record instead of the append's, the declaration's and the
    /// completion's (a front that checks the file while it streams: a check that fails at the body's end fails its read,
    /// and nothing is completed). A crash before that record leaves the upload as it was before the append (its partial
    /// object unrecorded, dropped by the next append from zero). An upload whose length is known completes as always,
    /// when its last byte arrives. Default false.</summary>
    public bool Complete { get; init; }

    /// <summary>A check of the whole file, given its bytes once they are all written and before the completion makes
    /// it the object (a virus scan): when it throws, nothing of the append that ended the upload is recorded (the
    /// upload keeps its earlier offset) and the exception is rethrown, so a file it refuses is never reported complete,
    /// a crash during it included. A store that cannot read back an unfinished upload (S3) gives it the committed
    /// object before the completion is recorded, and removes the object when it throws. Null: no check.</summary>
    public Func<Stream, CancellationToken, Task>? CheckWhole { get; init; }

    public static AppendOptions None { get; } = new();
}

/// <summary>A checksum of a body: the algorithm ("sha1", "md5", "sha256") and the expected digest's bytes.</summary>
public sealed record BodyChecksum(string Algorithm, byte[] Digest)
{
    public static IReadOnlyList<string> Algorithms { get; } = ["sha1", "md5", "sha256"];
}

public sealed class UploadNotFoundException(string id)
    : LoadPipeException(ErrorKind.NotFound, $"no upload {id}");

/// <summary>The request does not fit the upload's state: <see cref="Offset"/> is where the upload stands.</summary>
public sealed class UploadConflictException(string message, long offset)
    : LoadPipeException(ErrorKind.Permanent, message)
{
    public long Offset { get; } = offset;
}

public sealed class UploadTooLargeException(string message)
    : LoadPipeException(ErrorKind.Permanent, message);

public sealed class UploadChecksumException(string message)
    : LoadPipeException(ErrorKind.Integrity, message);

/// <summary>Another open upload has this destination (one open upload per destination, across every process sharing
/// the manifest): the upload was not created.</summary>
public sealed class UploadDestinationBusyException(string message)
    : LoadPipeException(ErrorKind.Busy, message);
