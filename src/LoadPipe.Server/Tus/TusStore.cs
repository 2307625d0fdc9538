using System.Collections.Concurrent;
using System.Security.Cryptography;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Uploads;

namespace LoadPipe.Server.Tus;

/// <summary>
/// What the tus handlers share: the push entry (<see cref="IUploads"/>, opened on first use), where finished uploads go
/// and where partial ones wait, and the names given out but not yet written.
/// </summary>
public sealed class TusStore(
    Func<CancellationToken, Task<IUploads>> openUploads, Location destination, Location staging, ServerSettings settings, TimeProvider time)
    : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, byte> _reservedNames = new(StringComparer.Ordinal);
    private IUploads? _uploads;

    public Location Destination { get; } = destination;

    /// <summary>Where partial uploads (concatenation) become objects, one per upload id, until a final upload reads them.</summary>
    public Location Staging { get; } = staging;

    public ServerSettings Settings { get; } = settings;
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

    /// <summary>A new upload id: 128 random bits, URL-safe.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The destination object for <paramref name="wanted"/> (already checked by <see cref="ObjectNames.Problem"/>),
    /// or the id when the client gave no name: made distinct from an existing object and from names other uploads of this
    /// process hold. Release it with <see cref="ReleaseName"/> once the upload is finished or gone.</summary>
    public async Task<string> ChooseNameAsync(string? wanted, string id, CancellationToken cancellationToken)
    {
        if (wanted is null) return id;
        if (_reservedNames.TryAdd(wanted, 0))
        {
            if (await Destination.Storage.StatAsync(Destination.Child(wanted).Path, cancellationToken).ConfigureAwait(false) is null)
                return wanted;
            _reservedNames.TryRemove(wanted, out _);
        }
        var distinct = ObjectNames.WithId(wanted, id);
        _reservedNames.TryAdd(distinct, 0);
        return distinct;
    }

    public void ReleaseName(string name) => _reservedNames.TryRemove(name, out _);

    public async ValueTask DisposeAsync()
    {
        if (_uploads is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    /// <summary>The upload, or null when there is none or it has expired: an expired one is removed on the spot (as the
    /// sweeper would), so that a client told 404 may start anew under the same name.</summary>
    public async Task<Upload?> LiveAsync(IUploads uploads, string id, CancellationToken cancellationToken)
    {
        var upload = await uploads.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (upload is null || !IsExpired(upload)) return upload;
        if (await uploads.AbortAsync(id, CancellationToken.None).ConfigureAwait(false) && TusRequest.ObjectName(upload) is { } name)
            ReleaseName(name);
        return null;
    }

    /// <summary>True when an open upload (or a finished partial one, waiting for a final) is past its expiry: it is
    /// answered as gone, and removed.</summary>
    public bool IsExpired(Upload upload) =>
        (upload.Status == UploadStatus.Open || upload.Intermediate) && upload.Expires is { } expires && expires <= Time.GetUtcNow();
}
