using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Sizes;

namespace LoadPipe.Hosting.Configuration;

/// <summary>LP_* variables: they override the config file and are overridden by flags.</summary>
public static class EnvironmentSettings
{
    public static JobSettings Read(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        return new JobSettings
        {
            ChunkSize = Size(get, "LP_CHUNK_SIZE"),
            Transfers = Int(get, "LP_TRANSFERS", 1, 256),
            Retries = Int(get, "LP_RETRIES", 0, 100),
            BandwidthLimit = Size(get, "LP_BWLIMIT"),
            CacheDirectory = NonEmpty(get("LP_CACHE_DIR")),
            CacheLimit = Size(get, "LP_CACHE_LIMIT"),
            Project = NonEmpty(get("LP_PROJECT")),
            Hash = NonEmpty(get("LP_HASH")) is { } hash ? [hash] : null,
        };
    }

    /// <summary>The config file: --config, else LP_CONFIG, else $XDG_CONFIG_HOME/loadpipe/config.yaml.</summary>
    public static (string Path, bool Explicit) ConfigPath(string? flag)
    {
        if (NonEmpty(flag) is { } f) return (f, true);
        if (NonEmpty(Environment.GetEnvironmentVariable("LP_CONFIG")) is { } e) return (e, true);
        var home = NonEmpty(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return (Path.Combine(home, "loadpipe", "config.yaml"), false);
    }

    /// <summary>The manifest: --manifest, else LP_MANIFEST, else $XDG_DATA_HOME/loadpipe/manifest.db.</summary>
    public static string ManifestPath(string? flag)
    {
        if (NonEmpty(flag) is { } f) return f;
        if (NonEmpty(Environment.GetEnvironmentVariable("LP_MANIFEST")) is { } e) return e;
        var data = NonEmpty(Environment.GetEnvironmentVariable("XDG_DATA_HOME"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(data, "loadpipe", "manifest.db");
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static long? Size(Func<string, string?> get, string name) =>
        NonEmpty(get(name)) is { } v ? ByteSize.TryParse(v, out var n) ? n
            : throw new LoadPipeException(ErrorKind.Usage, $"{name}: '{v}' is not a size (examples: 512K, 8M, 1G)") : null;

    private static int? Int(Func<string, string?> get, string name, int min, int max) =>
        NonEmpty(get(name)) is { } v ? int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n
            : throw new LoadPipeException(ErrorKind.Usage, $"{name}: '{v}' must be a whole number from {min} to {max}") : null;
}
