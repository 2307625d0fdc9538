using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest.Transfers;

/// <summary>Takes over the transfers a stopped or dead server left unfinished (<see cref="FileTransfers.RecoverAsync"/>):
/// at start, then once a lease duration, so that a dead server's transfers are taken once their leases expire. Stopping
/// it stops this server's own transfers where they stand.</summary>
public sealed class TransferRecovery(FileTransfers transfers, TimeProvider time, ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await transfers.RecoverAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.TransferRecoveryFailed(logger, e.Message);
            }
            try
            {
                await Task.Delay(transfers.LeaseDuration, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await transfers.StopAsync().ConfigureAwait(false);
    }
}
