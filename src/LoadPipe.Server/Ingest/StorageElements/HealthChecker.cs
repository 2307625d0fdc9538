using Microsoft.Extensions.Hosting;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>Checks every storage element at start and then every `health_check_interval`, on the server's clock.</summary>
public sealed class HealthChecker(StorageElementRegistry elements, IngestSettings settings, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.HealthCheckInterval, time);
        do
        {
            await elements.CheckAllAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
