namespace LoadPipe.Core.Manifest;

/// <summary>
/// The durable record of sessions, transfers and confirmed chunks. Every method is atomic: after a crash the
/// manifest holds either all of a call's effect or none of it. Implementations: SQLite (the default, one machine) and
/// PostgreSQL (many processes and machines); both pass the same contract suite (ManifestContractTests).
/// </summary>
public interface IManifest : IAsyncDisposable
{
    /// <summary>Where the state lives, for messages ("sqlite:/home/u/.local/share/loadpipe/manifest.db"). No password.</summary>
    string Description { get; }

    Task<long> BeginSessionAsync(SessionStart start, CancellationToken cancellationToken = default);

    Task EndSessionAsync(long sessionId, SessionSummary summary, CancellationToken cancellationToken = default);

    /// <summary>Records a session's counts so far while it runs (its status and end are left as they are): the engine
    /// saves them every few seconds, so that a run killed without recording its end still shows about what it did.</summary>
    Task RecordSessionCountsAsync(long sessionId, SessionCounts counts, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the exclusive right to work on the transfer with this key, in this process and every other one that
    /// shares the manifest, until the returned handle is disposed. Returns null at once when someone else holds it.
    /// The right ends by itself when its holder dies (kill -9 included), so a re-run never waits for a dead process.
    /// </summary>
    Task<IAsyncDisposable?> TryLockAsync(TransferKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the locks of <paramref name="first"/> and then <paramref name="second"/> (<see cref="TryLockAsync"/>, each
    /// tried, never waited for), both or neither: a transfer's and its destination's, in the order FileTransfer always
    /// takes them. The handle lets both go. When one is held elsewhere, nothing stays held and the answer says which
    /// (<see cref="LockPair.FirstBusy"/>). A manifest may take and release the two in one round trip (PostgreSQL: one
    /// statement each way, where two locks taken one by one cost four).
    /// </summary>
    async Task<LockPair> TryLockPairAsync(TransferKey first, TransferKey second, CancellationToken cancellationToken = default)
    {
        var one = await TryLockAsync(first, cancellationToken).ConfigureAwait(false);
        if (one is null) return new LockPair(null, FirstBusy: true);
        try
        {
            var two = await TryLockAsync(second, cancellationToken).ConfigureAwait(false);
            if (two is not null) return new LockPair(new BothHeld(one, two), FirstBusy: false);
        }
        catch
        {
            await one.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await one.DisposeAsync().ConfigureAwait(false);
        return new LockPair(null, FirstBusy: false);
    }

    /// <summary>Lets two locks go, the second taken first.</summary>
    private sealed class BothHeld(IAsyncDisposable first, IAsyncDisposable second) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try { await second.DisposeAsync().ConfigureAwait(false); }
            finally { await first.DisposeAsync().ConfigureAwait(false); }
        }
    }

    /// <summary>The transfer for this source, destination and pipeline, or null if there never was one.</summary>
    Task<TransferRecord?> FindTransferAsync(TransferKey key, CancellationToken cancellationToken = default);

    /// <summary>The transfers among <paramref name="keys"/> that exist, found in one go: for planning many files at once
    /// (a 300k-file re-run asks in batches instead of once per file).</summary>
    Task<IReadOnlyDictionary<TransferKey, TransferRecord>> FindTransfersAsync(IReadOnlyCollection<TransferKey> keys, CancellationToken cancellationToken = default);

    /// <summary>Records planned files as <see cref="TransferStatus.Pending"/> in the session, in one batch (a 300k-file
    /// upload inserts them as the scan runs ahead, so `lp status` and `lp retry` see files not yet started). A
    /// transfer that already exists is left as it is: it joins the session when it starts.</summary>
    Task AddPendingAsync(long sessionId, IReadOnlyCollection<(TransferKey Key, SourceIdentity Source)> files, CancellationToken cancellationToken = default);

    /// <summary>Creates the transfer, or resets an existing one to nothing confirmed (its chunks are dropped), and takes
    /// it: the returned record's <see cref="TransferRecord.Lease"/> carries a new epoch, which fences off whoever held
    /// the transfer before (<see cref="TransferFencedException"/>).</summary>
    Task<TransferRecord> StartTransferAsync(TransferKey key, long sessionId, SourceIdentity source, CancellationToken cancellationToken = default);

    /// <summary>Starts the transfer as <see cref="StartTransferAsync"/> does when there is no record of it yet, and
    /// returns it with <c>Started</c> true; when there is one, leaves it as it is and returns it with <c>Started</c>
    /// false (what <see cref="FindTransferAsync"/> gives). Called under the transfer's lock: for a transfer that is most
    /// likely new (a job's first attempt), the look under the lock and the start in one call. A manifest that cannot do
    /// both in one statement does them one after the other.</summary>
    async Task<(TransferRecord Record, bool Started)> StartTransferIfNewAsync(TransferKey key, long sessionId, SourceIdentity source,
        CancellationToken cancellationToken = default) =>
        await FindTransferAsync(key, cancellationToken).ConfigureAwait(false) is { } existing
            ? (existing, false)
            : (await StartTransferAsync(key, sessionId, source, cancellationToken).ConfigureAwait(false), true);

    /// <summary>Attaches an existing transfer to this run's session, counts the attempt and takes the transfer: the
    /// lease returned carries a new epoch, as <see cref="StartTransferAsync"/>'s does. Read the record and its chunks
    /// after it, not before: until then the previous holder may still confirm some.</summary>
    Task<TransferLease> AttachTransferAsync(long transferId, long sessionId, CancellationToken cancellationToken = default);

    /// <summary>Records the sink's resume state before any chunk is written to it.</summary>
    /// <exception cref="TransferFencedException">Another process took the transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task SetSinkStateAsync(TransferLease lease, string? sinkState, CancellationToken cancellationToken = default);

    /// <summary>Confirmed chunks in order.</summary>
    Task<IReadOnlyList<ChunkRecord>> GetChunksAsync(long transferId, CancellationToken cancellationToken = default);

    /// <summary>Records that the destination holds <paramref name="chunk"/>, with the sink state after it: one transaction.</summary>
    /// <exception cref="TransferFencedException">Another process took the transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task ConfirmChunkAsync(TransferLease lease, ChunkRecord chunk, string? sinkState, CancellationToken cancellationToken = default);

    /// <summary>Drops the chunks from <paramref name="fromSequence"/> on (they are no longer trusted).</summary>
    /// <exception cref="TransferFencedException">Another process took the transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task DropChunksAsync(TransferLease lease, int fromSequence, CancellationToken cancellationToken = default);

    /// <exception cref="TransferFencedException">Another process took the transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task CompleteTransferAsync(TransferLease lease, TransferCompletion completion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records many transfers as completed, in one transaction (the group commit of small files): each is created, or
    /// taken over from whatever state it was in (a new epoch, which fences off any earlier holder; its chunks dropped), with
    /// its source identity, its completion and one attempt, and each joins <paramref name="sessionId"/>'s record. For
    /// objects already durable at their final names, whose transfer locks the caller holds. The keys must be distinct.
    /// </summary>
    Task CompleteTransfersAsync(long sessionId, IReadOnlyCollection<CompletedTransfer> transfers, CancellationToken cancellationToken = default);

    /// <exception cref="TransferFencedException">Another process took the transfer since <paramref name="lease"/>: nothing changed.</exception>
    Task FailTransferAsync(TransferLease lease, string error, CancellationToken cancellationToken = default);

    IAsyncEnumerable<SessionRecord> ListSessionsAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>One session, or null when there is none with that id.</summary>
    Task<SessionRecord?> GetSessionAsync(long sessionId, CancellationToken cancellationToken = default);

    /// <summary>With a session: what that session did to each file it planned, started, completed or failed, as it left
    /// it (<see cref="TransferRecord.Status"/>, bytes, error and hashes are the session's own; a later run of the same
    /// file does not change them), in transfer order. Without: every transfer as it stands now.</summary>
    IAsyncEnumerable<TransferRecord> ListTransfersAsync(long? sessionId, CancellationToken cancellationToken = default);

    /// <summary>The projects sessions were labelled with (<see cref="SessionStart.Project"/>), by name, with their totals.</summary>
    IAsyncEnumerable<ProjectRecord> ListProjectsAsync(CancellationToken cancellationToken = default);

    /// <summary>The config a session ran with (<see cref="SessionStart.ConfigSnapshot"/>), as recorded; null when it ran without one.</summary>
    Task<string?> GetConfigSnapshotAsync(long sessionId, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IManifest.TryLockPairAsync"/> took: <paramref name="Held"/>, the handle to both locks, or null
/// when one was held elsewhere; then <paramref name="FirstBusy"/> says whether it was the first (else the second).</summary>
public sealed record LockPair(IAsyncDisposable? Held, bool FirstBusy);

/// <summary>A project's sessions: how many, the files and bytes they finished, and when the last one started.</summary>
public sealed record ProjectRecord(string Name, long Sessions, long Files, long Bytes, DateTimeOffset LastRun);

/// <summary>A transfer is identified by where from, where to, and through which stages.</summary>
public sealed record TransferKey(string Source, string Destination, string Pipeline)
{
    /// <summary>A stable 64-bit hash of the key, for lock names (PostgreSQL advisory locks, lock files).</summary>
    public long LockId => BitConverter.ToInt64(System.IO.Hashing.XxHash64.Hash(
        System.Text.Encoding.UTF8.GetBytes(Source + "\n" + Destination + "\n" + Pipeline)));
}

/// <summary>What identifies the content of a source: if any part differs, it is another content.</summary>
public sealed record SourceIdentity(long Size, string? Version, DateTimeOffset? Modified)
{
    /// <summary>Separates the fields a store added to its versions later (a local file's change time and inode) from
    /// those it had before: a version recorded by an older lp is compared on the fields it has (see <see cref="SameAs"/>).</summary>
    public const char VersionExtension = ';';

    /// <summary>True when nothing identifies the content (a pipe): it can never be trusted to be the same.</summary>
    public bool IsUnknown => Size < 0 && Version is null && Modified is null;

    /// <summary>True when both identify the same content, as far as the one with fewer fields can tell: a version
    /// recorded before its store added fields (<see cref="VersionExtension"/>) matches a newer one that starts with
    /// it. So an upgrade does not make every completed transfer look changed; they keep the check they were made with.</summary>
    public bool SameAs(SourceIdentity other) =>
        !IsUnknown && !other.IsUnknown && Size == other.Size && SameVersion(Version, other.Version)
        && Modified?.ToUnixTimeMilliseconds() == other.Modified?.ToUnixTimeMilliseconds();

    /// <summary><see cref="SameAs"/> on every field of both. A resume, which appends to bytes read from the recorded
    /// source, asks for this: a transfer interrupted before an upgrade starts again once rather than trust fewer fields.</summary>
    public bool SameExactlyAs(SourceIdentity other) => SameAs(other) && Version == other.Version;

    private static bool SameVersion(string? a, string? b) =>
        a == b || (a is not null && b is not null && (Extends(a, b) || Extends(b, a)));

    private static bool Extends(string longer, string shorter) =>
        longer.Length > shorter.Length && longer[shorter.Length] == VersionExtension
        && !shorter.Contains(VersionExtension, StringComparison.Ordinal) && longer.StartsWith(shorter, StringComparison.Ordinal);

    public override string ToString() =>
        $"size {Size}, version {Version ?? "-"}, modified {Modified?.ToString("O") ?? "-"}";
}

public enum TransferStatus { Pending, InProgress, Completed, Failed }

/// <summary>
/// The right to write one transfer's record: its id and the epoch that <see cref="IManifest.StartTransferAsync"/> or
/// <see cref="IManifest.AttachTransferAsync"/> gave when it was taken. Every write on behalf of that work carries it
/// and changes the record only while the epoch is still the transfer's: a process that lost its lock (cut off from
/// the database while another took the transfer over) can no longer confirm, complete or fail it.
/// </summary>
public sealed record TransferLease(long Id, long Epoch);

/// <summary>Thrown by a manifest write whose <see cref="TransferLease"/> is no longer the transfer's: another process
/// took the transfer over. The record was not touched; the file fails in this process and is the other one's now.</summary>
public sealed class TransferFencedException(TransferLease lease)
    : LoadPipe.Core.Errors.LoadPipeException(LoadPipe.Core.Errors.ErrorKind.Busy,
        $"the transfer was taken over by another process (transfer {lease.Id}, epoch {lease.Epoch} is no longer current)")
{
    public TransferLease Lease { get; } = lease;
}

public sealed record TransferRecord
{
    public required long Id { get; init; }
    public required TransferKey Key { get; init; }
    public long SessionId { get; init; }
    public required SourceIdentity Source { get; init; }
    public TransferStatus Status { get; init; }
    public string? SinkState { get; init; }
    /// <summary>Destination bytes confirmed (the end of the last confirmed chunk).</summary>
    public long BytesConfirmed { get; init; }
    public int Attempts { get; init; }
    public string? LastError { get; init; }
    public string? Md5 { get; init; }
    public string? Sha256 { get; init; }
    public long OutputSize { get; init; } = -1;
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Incremented each time a process takes the transfer (start or attach): see <see cref="TransferLease"/>.</summary>
    public long Epoch { get; init; }

    /// <summary>The lease of whoever took the transfer last, as of this read.</summary>
    public TransferLease Lease => new(Id, Epoch);
}

/// <summary>One write the destination confirmed.</summary>
/// <param name="InputEnd">Source offset after which this chunk's output is complete, when the chunk ends on an
/// input boundary a resume may start from; null otherwise.</param>
/// <param name="Checksum">XXH3 of the chunk's bytes, hex: lets a resume verify bytes it regenerates or re-reads.</param>
public sealed record ChunkRecord(int Sequence, long Offset, long Length, long? InputEnd, string Checksum)
{
    public long End => Offset + Length;
}

public sealed record TransferCompletion(long OutputSize, string? Md5, string? Sha256);

/// <summary>One transfer of <see cref="IManifest.CompleteTransfersAsync"/>: what it was, from which source, and how it ended.</summary>
public sealed record CompletedTransfer(TransferKey Key, SourceIdentity Source, TransferCompletion Completion);

public sealed record SessionStart(string Command, string Source, string Destination, string? Project = null, string? ConfigSnapshot = null);

public sealed record SessionSummary(SessionStatus Status, int Files, int FilesSkipped, int FilesFailed, long Bytes, long BytesSent);

/// <summary>A running session's counts (<see cref="IManifest.RecordSessionCountsAsync"/>): files finished, skipped and
/// failed so far, the bytes of the finished files, and the bytes sent, failed files' included.</summary>
public sealed record SessionCounts(int Files, int FilesSkipped, int FilesFailed, long Bytes, long BytesSent);

public sealed record SessionRecord(long Id, string Command, string Source, string Destination, string? Project, SessionStatus Status,
    DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, int Files, int FilesSkipped, int FilesFailed, long Bytes, long BytesSent);

/// <summary>Queries built on the <see cref="IManifest"/> primitives.</summary>
public static class ManifestQueries
{
    /// <summary>The lock a process holds while it runs a session (<see cref="IManifest.TryLockAsync"/>): the kernel or
    /// the database drops it when the process dies, kill -9 included.</summary>
    public static TransferKey SessionLock(long sessionId) =>
        new("lp-session", sessionId.ToString(System.Globalization.CultureInfo.InvariantCulture), "");

    /// <summary>The lock a process holds while it writes to <paramref name="destinationUri"/>, whatever the source and
    /// the pipeline: one writer per destination object among the processes that share the manifest. Taken after the
    /// transfer's own lock (<see cref="TransferKey"/>), always in that order.</summary>
    public static TransferKey DestinationLock(string destinationUri) => new("lp-destination", destinationUri, "");

    /// <summary>The session as it stands now: one recorded as running whose process no longer holds its lock was
    /// killed before it could record its end, and is shown as <see cref="SessionStatus.Interrupted"/> (what a stopped run records).</summary>
    public static async Task<SessionRecord> WithLivenessAsync(this IManifest manifest, SessionRecord session, CancellationToken cancellationToken = default)
    {
        if (session.Status != SessionStatus.Running) return session;
        var probe = await manifest.TryLockAsync(SessionLock(session.Id), cancellationToken).ConfigureAwait(false);
        if (probe is null) return session;
        await probe.DisposeAsync().ConfigureAwait(false);
        return session with { Status = SessionStatus.Interrupted };
    }
}
