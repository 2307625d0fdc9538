using LoadPipe.Core.Manifest;
using LoadPipe.Core.Uploads;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Tus;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest;

/// <summary>
/// What the ingest endpoints share: the settings, the storage elements, the file records (in the manifest) and the push
/// entry the tus endpoints use too, so that an API upload and a tus upload are the same thing underneath.
/// </summary>
public sealed class IngestService(
    IngestSettings settings, StorageElementRegistry elements, TusStore tus, Func<CancellationToken, Task<IManifest>> openManifest,
    TimeProvider time, ILogger logger)
{
    private FileRecordStore? _records;

    public IngestSettings Settings { get; } = settings;
    public StorageElementRegistry Elements { get; } = elements;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = logger;

    /// <summary>How long an API upload may stay unfinished before the tus sweeper removes it: the tus expiration.</summary>
    public TimeSpan UploadExpiration => tus.Settings.Expiration;

    public Task<IUploads> UploadsAsync(CancellationToken cancellationToken) => tus.UploadsAsync(cancellationToken);

    public async Task<FileRecordStore> RecordsAsync(CancellationToken cancellationToken) =>
        _records ??= FileRecordStore.Over(await openManifest(cancellationToken).ConfigureAwait(false));
}
