using System.ComponentModel.DataAnnotations;

namespace LoadPipe.Core.Transfers;

/// <summary>The defaults, in one place; docs/config.md repeats them.</summary>
public static class TransferDefaults
{
    public const int ChunkSize = 8 << 20;
    public const int Transfers = 4;
    public const int Retries = 5;
    public const long CacheLimit = 1L << 30;
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(60);
}

/// <summary>Whole-file hashes computed on the fly of the bytes delivered.</summary>
[Flags]
public enum ContentHashes
{
    None = 0,
    Md5 = 1,
    Sha256 = 2,
}

/// <summary>Reads `--hash md5,sha256` and the config's `hash:` list.</summary>
public static class ContentHashNames
{
    /// <summary>"md5", "sha256", "none" (case-insensitive), comma-separated or one per item.</summary>
    public static ContentHashes Parse(IEnumerable<string> items, string where)
    {
        var hashes = ContentHashes.None;
        foreach (var name in items.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            hashes |= name.ToLowerInvariant() switch
            {
                "md5" => ContentHashes.Md5,
                "sha256" or "sha-256" => ContentHashes.Sha256,
                "none" => ContentHashes.None,
                _ => throw new Errors.LoadPipeException(Errors.ErrorKind.Usage, $"{where}: unknown hash '{name}' (known: md5, sha256, none)"),
            };
        }
        return hashes;
    }
}

/// <summary>How a copy runs. Every property has a default, stated on it.</summary>
public sealed class TransferOptions
{
    /// <summary>Bytes read from the source per chunk, and the unit of resume. Default 8 MiB.</summary>
    [Range(64 << 10, 1L << 30)]
    public int ChunkSize { get; set; } = TransferDefaults.ChunkSize;

    /// <summary>Files moved at once. Default 4.</summary>
    [Range(1, 256)]
    public int Transfers { get; set; } = TransferDefaults.Transfers;

    /// <summary>Tries after the first for each transient fault. Default 5.</summary>
    [Range(0, 100)]
    public int Retries { get; set; } = TransferDefaults.Retries;

    /// <summary>First backoff delay; doubles each try, with jitter. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TransferDefaults.RetryDelay;

    /// <summary>Longest wait between tries, also the cap on a server's Retry-After. Default 60 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TransferDefaults.MaxRetryDelay;

    /// <summary>Bytes per second over all transfers; 0 is unlimited. Default 0.</summary>
    [Range(0, long.MaxValue)]
    public long BandwidthLimit { get; set; }

    /// <summary>Stage specs applied in order ("unzstd", "grep:x", "zstd"). Default none.</summary>
    public IList<string> Stages { get; set; } = [];

    /// <summary>Globs a file must match one of to be copied (on its name, or its relative path if the glob has '/'). Default all.</summary>
    public IList<string> Include { get; set; } = [];

    /// <summary>Globs that leave a file out; they win over <see cref="Include"/>. Default none.</summary>
    public IList<string> Exclude { get; set; } = [];

    /// <summary>File extensions to copy ("jpg", "wav"), compared without case; empty is all. Default all.</summary>
    public IList<string> Extensions { get; set; } = [];

    /// <summary>Whole-file hashes of what is delivered, recorded in the manifest and reported. MD5 is added on its own
    /// when it is needed: to check a source that offers one, or for a destination that looks up duplicates by it.
    /// Default SHA-256 only (MD5 runs at half its speed and would bound a local copy).</summary>
    public ContentHashes Hashes { get; set; } = ContentHashes.Sha256;

    /// <summary>Re-read the destination after commit and compare its SHA-256. Default false.</summary>
    public bool VerifyAfterCommit { get; set; }

    /// <summary>In a folder copy, a file the manifest recorded as completed from a source with the same size, modified
    /// time and version is skipped without asking the destination, so a no-op re-run of a large tree lists nothing
    /// there. False (`--check-dest`): the destination is listed and a file missing there is sent again. Default true.</summary>
    public bool TrustManifest { get; set; } = true;

    /// <summary>The files are expected not to be done yet (a queued job that never ran): each file's record in the manifest
    /// is read only under its lock, the read that decides, and not also before the lock is taken, which saves a
    /// statement per file that is not done and costs the locks for one that is; and that read also starts the
    /// transfer when it finds no record (<see cref="Manifest.IManifest.StartTransferIfNewAsync"/>), one more. Default false (a re-run of a done
    /// file is decided without locks).</summary>
    public bool LikelyNew { get; set; }

    /// <summary>For a run of one file: once that file is committed, its transfer's end is not recorded by the engine but
    /// held here, with the transfer's locks, for the caller to record with its own (<see cref="HeldTransferEnd"/>).
    /// Default null (recorded at once). Not for a destination that finds duplicates (it remembers what it stored after
    /// the record).</summary>
    public HeldTransferEnd? HoldEnd { get; set; }

    /// <summary>Where replayed sources are cached; null disables the cache. Default null.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Most bytes the cache may hold. Default 1 GiB.</summary>
    public long CacheLimit { get; set; } = TransferDefaults.CacheLimit;

    /// <summary>Free-form label for the session ("birds"). Default none.</summary>
    public string? Project { get; set; }

    /// <summary>The command that started the run, recorded with the session. Default "copy".</summary>
    public string Command { get; set; } = "copy";

    /// <summary>The configuration the run used, recorded with the session. Default none.</summary>
    public string? ConfigSnapshot { get; set; }

    /// <summary>Properties every destination object gets (<see cref="Storage.WriteRequest.Metadata"/>): --meta and the
    /// video flags. Default none.</summary>
    public IDictionary<string, string> Metadata { get; set; } = new Dictionary<string, string>();
}
