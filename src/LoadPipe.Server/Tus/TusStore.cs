using System.Collections.Concurrent;
using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Uploads;

namespace LoadPipe.Server.Tus;

/// <summary>
/// What the tus handlers share: the push entry (<see cref="IUploads"/>, opened on first use), where finished uploads go
/// and where partial ones wait.
/// </summary>
public sealed class TusStore(
    Func<CancellationToken, Task<IUploads>> openUploads, Location destination, Location staging, ServerSettings settings, TimeProvider time)
    : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IUploads? _uploads;
    // Partial uploads a final upload of this process is being joined from (partial id -> final id).
    private readonly ConcurrentDictionary<string, string> _joining = new(StringComparer.Ordinal);

    public Location Destination { get; } = destination;

    /// <summary>Where partial uploads (concatenation) become objects, one per upload id, until a final upload reads them.</summary>
    public Location Staging { get; } = staging;

    public ServerSettings Settings { get; } = settings;

    /// <summary>The ingest API's clamd, scanning each finished tus upload too (<see cref="TusVirusScan"/>); null: no scan.</summary>
    public Ingest.Validation.ClamAvSettings? ClamAv { get; set; }
    public TimeProvider Time { get; } = time;

    public async Task<IUploads> UploadsAsync(CancellationToken cancellationToken)
    {
        if (_uploads is { } open) return open;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _uploads ??= await openUploads(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Claims <paramref name="partials"/> for the final upload <paramref name="final"/>: a partial is joined
    /// into one final only, since the final that uses it removes it. Null when all are claimed; else the id of the first
    /// partial another final of this process holds (nothing is claimed then). Let go with <see cref="ReleasePartials"/>.</summary>
    public string? ClaimPartials(IEnumerable<string> partials, string final)
    {
        var claimed = new List<string>();
        foreach (var id in partials.Distinct(StringComparer.Ordinal))
        {
            if (_joining.TryAdd(id, final))
            {
                claimed.Add(id);
                continue;
            }
            ReleasePartials(claimed, final);
            return id;
        }
        return null;
    }

    public void ReleasePartials(IEnumerable<string> partials, string final)
    {
        foreach (var id in partials.Distinct(StringComparer.Ordinal)) _joining.TryRemove(KeyValuePair.Create(id, final));
    }

    /// <summary>A new upload id: 128 random bits, URL-safe.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// Creates <paramref name="request"/> as the upload of an object at the destination named <paramref name="wanted"/>
    /// (already checked by <see cref="ObjectNames.Problem"/>), or the upload's id when the client gave no name. A name is
    /// taken only when no object has it and no other open upload holds it, whatever process shares the manifest: the
    /// manifest's one open upload per destination is the claim (a conditional insert, not this process's memory), and
    /// the object is looked for again once the claim is held, since an upload of that name may have finished (and let
    /// its claim go) just before. A name taken gets the id: "report.pdf" becomes "report-1a2b3c4d.pdf", then the whole id.
    /// </summary>
    public async Task<Upload> CreateNamedAsync(IUploads uploads, string? wanted, NewUpload request, CancellationToken cancellationToken)
    {
        var id = request.Id!;
        string[] names = wanted is null ? [id] : [ObjectNames.Fit(wanted), ObjectNames.WithId(wanted, id[..8]), ObjectNames.WithId(wanted, id)];
        foreach (var name in names)
        {
            var destination = Destination.Child(name);
            if (await Destination.Storage.StatAsync(destination.Path, cancellationToken).ConfigureAwait(false) is not null) continue;
            var metadata = new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal) { [UploadMetadata.ObjectKey] = name };
            // An empty upload would be made (and could replace an object) at its creation: its length is declared only
            // once the claim is known good.
            var empty = request.Length == 0;
            Upload upload;
            try
            {
                upload = await uploads.CreateAsync(request with { Destination = destination, Metadata = metadata, Length = empty ? null : request.Length },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (UploadDestinationBusyException)
            {
                continue;
            }
            if (await Destination.Storage.StatAsync(destination.Path, cancellationToken).ConfigureAwait(false) is not null)
            {
                // Made in error: it goes with its transfer, leaving no failed file in `lp status`.
                await uploads.DiscardAsync(upload.Id, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            return empty ? await uploads.DeclareLengthAsync(upload.Id, 0, cancellationToken).ConfigureAwait(false) : upload;
        }
        throw new UploadDestinationBusyException($"every name tried for upload {id} is taken ({string.Join(", ", names)})");
    }

    public async ValueTask DisposeAsync()
    {
        if (_uploads is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    /// <summary>The upload, or null when there is none, it is an ingest API session, or it has expired: an expired one is removed on the spot (as the
    /// sweeper would), so that a client told 404 may start anew under the same name.</summary>
    public async Task<Upload?> LiveAsync(IUploads uploads, string id, CancellationToken cancellationToken)
    {
        var upload = await uploads.GetAsync(id, cancellationToken).ConfigureAwait(false);
        // An ingest API session is that API's, with its checks: tus does not see it.
        if (upload is not null && Ingest.Files.UploadSessions.IsSession(upload)) return null;
        if (upload is null || !IsExpired(upload)) return upload;
        await uploads.AbortAsync(id, CancellationToken.None).ConfigureAwait(false);
        return null;
    }

    /// <summary>True when an open upload (or a finished partial one, waiting for a final) is past its expiry: it is
    /// answered as gone, and removed.</summary>
    public bool IsExpired(Upload upload) =>
        (upload.Status == UploadStatus.Open || upload.Intermediate) && upload.Expires is { } expires && expires <= Time.GetUtcNow();
}
