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
    IngestMetrics metrics, TimeProvider time, ILogger logger)
{
    private static readonly HttpClient Webhooks = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly SemaphoreSlim _usageGate = new(1, 1);
    private FileRecordStore? _records;
    private bool _usageLoaded;

    public IngestMetrics Metrics { get; } = metrics;
    public Sagas.SagaRunner Sagas { get; } = new(openManifest, metrics, settings.SagaRetryMaxAttempts, time, logger, settings.SagaEnabled, settings.SagaTimeout);
    public Audit.AuditLog Audit { get; } = new(settings.AuditLog, time, logger);

    /// <summary>The upload saga's `publish` step: stored files announced on Redis (docs/ingest.md, "Sagas").</summary>
    public Publishing.FileEventPublisher Events { get; } = new(settings.Discovery, settings.PublishChannel, openManifest, time, logger);

    /// <summary>The client that posts the upload saga's webhook.</summary>
    public HttpClient WebhookClient => Webhooks;

    public IngestSettings Settings { get; } = settings;
    public StorageElementRegistry Elements { get; } = elements;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = logger;

    /// <summary>How long an API upload may stay unfinished before the tus sweeper removes it: the tus expiration.</summary>
    public TimeSpan UploadExpiration => tus.Settings.Expiration;

    public Task<IUploads> UploadsAsync(CancellationToken cancellationToken) => tus.UploadsAsync(cancellationToken);

    /// <summary>The resumable uploads' in-process state (docs/ingest.md, "Upload sessions").</summary>
    public UploadSessions Sessions { get; } = new();

    public Task<IManifest> ManifestAsync(CancellationToken cancellationToken) => openManifest(cancellationToken);

    /// <summary>Transfers between elements (docs/ingest.md, "Transfers"); set by <see cref="IngestWiring"/>.</summary>
    public Transfers.FileTransfers? Transfers { get; set; }

    public async Task<FileRecordStore> RecordsAsync(CancellationToken cancellationToken) =>
        _records ??= FileRecordStore.Over(await openManifest(cancellationToken).ConfigureAwait(false));

    /// <summary>Counts, once, the bytes each element holds from the file records (least_used and capacities need it);
    /// uploads and deletes keep the counts after.</summary>
    public async Task LoadUsageAsync(CancellationToken cancellationToken)
    {
        if (_usageLoaded) return;
        await _usageGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_usageLoaded) return;
            var records = await RecordsAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var file in records.ListAsync(cancellationToken).ConfigureAwait(false))
                Elements.Find(file.StorageElementId)?.AddUsed(file.BytesAtElement);
            _usageLoaded = true;
        }
        finally
        {
            _usageGate.Release();
        }
    }
}
