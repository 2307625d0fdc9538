using LoadPipe.Hosting;
using LoadPipe.Server.Ingest.StorageElements;
using LoadPipe.Server.Tus;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest;

/// <summary>Makes the ingest API's parts for a server: its settings (defaults when the config has none), its storage
/// elements resolved on the host's resolver, and the service the endpoints share.</summary>
public static class IngestWiring
{
    public static IngestService Create(LoadPipeHost host, ServerSettings settings, TusStore tus, ILogger logger)
    {
        var ingest = settings.Ingest ?? IngestSettings.From(new(), settings.Destination);
        var elements = new StorageElementRegistry(host.Resolver, ingest, host.Time);
        elements.Replace(ingest.StorageElements);
        var metrics = new IngestMetrics(() => elements.All);
        var service = new IngestService(ingest, elements, tus, host.ManifestAsync, metrics, host.Time, logger);
        service.Transfers = new Transfers.FileTransfers(host, service);
        return service;
    }
}
