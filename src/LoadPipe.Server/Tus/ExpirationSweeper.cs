using LoadPipe.Server.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Tus;

/// <summary>
/// tus 1.0.0, Expiration: "A Server MAY wish to remove incomplete uploads after a given period of time to prevent
/// abandoned uploads from taking up extra storage." Every so often, the open uploads past their Upload-Expires are
/// aborted through the push entry, which drops their bytes and state; requests for them get 404 from then on.
/// </summary>
/// <para>Each round also runs <paramref name="leftovers"/> (the ingest API's sweep of what crashed uploads left at its
/// elements, <see cref="Ingest.Files.LeftoverSweeper"/>).</para>
internal sealed class ExpirationSweeper(TusStore store, ServerMetrics metrics, ILogger logger, TimeSpan? interval = null,
    Func<CancellationToken, Task<int>>? leftovers = null) : BackgroundService
{
    private const int Batch = 100;

    /// <summary>`server.ingest.upload_session_cleanup_interval` (UPLOAD_SESSION_CLEANUP_INTERVAL_HOURS) when given; else
    /// half the expiration, between 1 s and a minute: an upload is gone soon after it expires, and an idle server asks
    /// the manifest at most once a second.</summary>
    public TimeSpan Interval { get; } = interval
        ?? TimeSpan.FromTicks(Math.Clamp(store.Settings.Expiration.Ticks / 2, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, store.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                    if (leftovers is not null) await leftovers(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.SweepFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Removes every open upload expired by now; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var uploads = await store.UploadsAsync(cancellationToken).ConfigureAwait(false);
        var removed = 0;
        while (true)
        {
            var expired = new List<Core.Uploads.Upload>();
            await foreach (var upload in uploads.ListExpiredAsync(store.Time.GetUtcNow(), Batch, cancellationToken).ConfigureAwait(false))
                expired.Add(upload);
            foreach (var upload in expired)
            {
                if (!await uploads.AbortAsync(upload.Id, cancellationToken).ConfigureAwait(false)) continue;
                metrics.UploadExpired();
                Log.UploadExpired(logger, upload.Id);
                removed++;
            }
            if (expired.Count < Batch) return removed;
        }
    }
}
