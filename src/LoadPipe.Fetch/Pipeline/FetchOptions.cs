using LoadPipe.Core.Stages;

namespace LoadPipe.Fetch.Pipeline;

/// <summary>The defaults of <see cref="FetchOptions"/>, in one place.</summary>
public static class FetchDefaults
{
    public const int Downloads = 8;
    public const int PerHost = 4;
    public const int DownloadQueueSize = 16;
    public const int ProcessingQueueSize = 16;
    public const int Retries = 3;
    public const long CacheLimit = 1L << 30;
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(60);
}

/// <summary>How a <see cref="FetchPipeline"/> runs. Every property has its default in <see cref="FetchDefaults"/>.</summary>
public sealed class FetchOptions
{
    /// <summary>Downloads at once (--downloads). Default 8.</summary>
    public int Downloads { get; set; } = FetchDefaults.Downloads;

    /// <summary>Downloads at once from one host (--per-host). Default 4.</summary>
    public int PerHost { get; set; } = FetchDefaults.PerHost;

    /// <summary>Entries read ahead of the downloads (--download-queue-size). Default 16.</summary>
    public int DownloadQueueSize { get; set; } = FetchDefaults.DownloadQueueSize;

    /// <summary>Processing workers (--processors). Default: the machine's cores.</summary>
    public int Processors { get; set; } = Environment.ProcessorCount;

    /// <summary>Downloaded files waiting for a processing worker. Default 16.</summary>
    public int ProcessingQueueSize { get; set; } = FetchDefaults.ProcessingQueueSize;

    /// <summary>Stages the bytes go through before processing (--process), in order. Default none.</summary>
    public IReadOnlyList<IStage> Stages { get; set; } = [];

    /// <summary>Keep each processed file in this folder under its entry's name (--save); null deletes it. Default null.</summary>
    public string? SaveDirectory { get; set; }

    /// <summary>Where files wait between their download and their processing (--cache-dir). Default: a folder of the
    /// system's temporary folder, removed at the end.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Most bytes the files waiting in the cache may hold (--cache-limit): a download waits for room. Default 1 GiB.</summary>
    public long CacheLimit { get; set; } = FetchDefaults.CacheLimit;

    /// <summary>Fetch again the entries the manifest records as done (--force). Default false.</summary>
    public bool Force { get; set; }

    /// <summary>A bad entry stops the run instead of failing alone (--strict). Default false.</summary>
    public bool Strict { get; set; }

    /// <summary>What the manifest's transfer keys name as the destination: the processors, so that a run with other
    /// processors does not skip entries another has done. Default "fetch".</summary>
    public string Destination { get; set; } = "fetch";
}
