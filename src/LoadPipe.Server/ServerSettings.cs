using System.Globalization;
using System.Net;
using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Server;

/// <summary>The built-in defaults of `lp serve`, each stated once (docs/server.md repeats them).</summary>
public static class ServerDefaults
{
    public const string Listen = "127.0.0.1:8080";

    /// <summary>The largest upload when `uploads.max_size` is not given: 10 GiB.</summary>
    public const long MaxSize = 10L << 30;

    /// <summary>How long an unfinished upload lives when `uploads.expiration` is not given.</summary>
    public static readonly TimeSpan Expiration = TimeSpan.FromHours(24);

    public const long MaxHeaderSize = 32 << 10;
    public const int RequestsPerMinute = 6000;

    /// <summary>Kestrel's own default (240 B/s after a 5 s grace): a slow-body (slowloris) client is cut off.</summary>
    public const long MinBodyRate = 240;

    public static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The folder below the destination where partial uploads (concatenation) wait to be joined.</summary>
    public const string StagingFolder = ".tus-partial";
}

/// <summary>
/// What `lp serve` runs with: the config file's `server:` section with the flags over it and the defaults under it,
/// checked. Build it with <see cref="From"/>.
/// </summary>
public sealed record ServerSettings
{
    public required IPEndPoint Listen { get; init; }

    /// <summary>The listen address as given ("localhost:8080" stays readable in messages).</summary>
    public required string ListenText { get; init; }

    /// <summary>Null: `auth: none` (loopback only).</summary>
    public required ServerAuthConfig? Jwt { get; init; }

    public required string Destination { get; init; }
    public string? Staging { get; init; }
    public long MaxSize { get; init; } = ServerDefaults.MaxSize;
    public TimeSpan Expiration { get; init; } = ServerDefaults.Expiration;

    /// <summary>Record MD5 beside SHA-256 (`uploads.md5`); off by default: it costs more CPU than the rest of an append.</summary>
    public bool Md5 { get; init; }

    /// <summary>Null: any origin (*).</summary>
    public IReadOnlyList<string>? CorsOrigins { get; init; }

    public long MaxHeaderSize { get; init; } = ServerDefaults.MaxHeaderSize;
    public int RequestsPerMinute { get; init; } = ServerDefaults.RequestsPerMinute;
    public long MinBodyRate { get; init; } = ServerDefaults.MinBodyRate;
    public TimeSpan HeaderTimeout { get; init; } = ServerDefaults.HeaderTimeout;

    /// <summary>The ingest API's settings (`storage_elements:`, `ingest:`); null: its defaults, one element at the destination.</summary>
    public LoadPipe.Server.Ingest.IngestSettings? Ingest { get; init; }

    /// <summary>Settles the config with <paramref name="listenFlag"/> over it; a usage error (exit 2) for anything that
    /// cannot run: no destination, no auth, `auth: none` on an address others can reach.</summary>
    public static ServerSettings From(ServerConfig config, string? listenFlag, Func<string, string?>? environment = null)
    {
        var listenText = listenFlag ?? config.Listen ?? ServerDefaults.Listen;
        var listen = ParseListen(listenText);
        var auth = config.Auth
            ?? throw new LoadPipeException(ErrorKind.Usage, "server.auth is not set: give a jwt key, or `auth: none` on a loopback address (docs/server.md)");
        if (auth.None && !IPAddress.IsLoopback(listen.Address))
            throw new LoadPipeException(ErrorKind.Usage, $"server.auth is none but --listen {listenText} is not a loopback address: anyone who can reach it could upload; configure jwt");
        var destination = config.Uploads.Destination
            ?? throw new LoadPipeException(ErrorKind.Usage, "server.uploads.destination is not set: where should uploads go? (docs/server.md)");
        var limits = config.Limits;
        return new ServerSettings
        {
            Listen = listen,
            ListenText = listenText,
            Jwt = auth.None ? null : auth,
            Destination = destination,
            Staging = config.Uploads.Staging,
            MaxSize = config.Uploads.MaxSize ?? ServerDefaults.MaxSize,
            Expiration = config.Uploads.Expiration ?? ServerDefaults.Expiration,
            Md5 = config.Uploads.Md5 ?? false,
            CorsOrigins = config.CorsOrigins,
            MaxHeaderSize = limits.MaxHeaderSize ?? ServerDefaults.MaxHeaderSize,
            RequestsPerMinute = limits.RequestsPerMinute ?? ServerDefaults.RequestsPerMinute,
            MinBodyRate = limits.MinBodyRate ?? ServerDefaults.MinBodyRate,
            HeaderTimeout = limits.HeaderTimeout ?? ServerDefaults.HeaderTimeout,
            // The seed's environment variables (MAX_FILE_SIZE_MB, ...) win over the file, as a seed user's .env expects.
            Ingest = LoadPipe.Server.Ingest.IngestSettings.From(
                LoadPipe.Server.Ingest.IngestEnvironment.Apply(config.Ingest, environment ?? Environment.GetEnvironmentVariable), destination),
        };
    }

    /// <summary>HOST:PORT, where HOST is an IPv4 address, [IPv6], or localhost.</summary>
    public static IPEndPoint ParseListen(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon > 0
            && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
        {
            var host = text[..colon];
            if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
            if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
            if (IPAddress.TryParse(host, out var address)) return new IPEndPoint(address, port);
        }
        throw new LoadPipeException(ErrorKind.Usage, $"--listen '{text}': give HOST:PORT with an IP address or localhost (e.g. 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080)");
    }
}
