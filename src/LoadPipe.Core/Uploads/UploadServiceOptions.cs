using LoadPipe.Core.Transfers;

namespace LoadPipe.Core.Uploads;

/// <summary>How an <see cref="UploadService"/> runs. Every property has a default, stated on it.</summary>
public sealed class UploadServiceOptions
{
    /// <summary>The command its session is recorded under (`lp sessions`). Default "upload".</summary>
    public string Command { get; set; } = "upload";

    /// <summary>The destination its session is recorded with (the front's upload folder, say). Default "push".</summary>
    public string SessionDestination { get; set; } = "push";

    /// <summary>Bytes per store write where the store takes any size (local disk); stores with a minimum (S3 parts) or
    /// a preferred size write that. Default 8 MiB, the engine's chunk size.</summary>
    public int ChunkSize { get; set; } = TransferDefaults.ChunkSize;

    /// <summary>Whether a completion records the object's MD5 beside its SHA-256. MD5 costs more than twice SHA-256's CPU
    /// per byte (about 1.5 ms per MiB here), which a busy server may not want to pay on every upload. Default true.</summary>
    public bool Md5 { get; set; } = true;

    /// <summary>Tries after the first for a transient fault of a store write. Default 5.</summary>
    public int Retries { get; set; } = TransferDefaults.Retries;

    /// <summary>First backoff delay; doubles each try. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TransferDefaults.RetryDelay;

    /// <summary>Longest wait between tries. Default 60 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TransferDefaults.MaxRetryDelay;
}
