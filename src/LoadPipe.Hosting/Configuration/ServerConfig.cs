namespace LoadPipe.Hosting.Configuration;

/// <summary>
/// The `server:` section of the config file, read for `lp serve` (docs/server.md names every key). Null means "not
/// given here": the server's flags and built-in defaults fill in.
/// </summary>
public sealed record ServerConfig
{
    /// <summary>HOST:PORT to listen on (`listen:`; the `--listen` flag wins).</summary>
    public string? Listen { get; init; }

    /// <summary>How requests are authenticated (`auth:`); null: not configured, which the server refuses.</summary>
    public ServerAuthConfig? Auth { get; init; }

    public ServerUploadsConfig Uploads { get; init; } = new();

    /// <summary>The origins browsers may upload from (`cors.origins:`); null: any (*).</summary>
    public IReadOnlyList<string>? CorsOrigins { get; init; }

    public ServerLimitsConfig Limits { get; init; } = new();

    /// <summary>The ingest API's storage elements and settings (`storage_elements:`, `ingest:`).</summary>
    public IngestConfig Ingest { get; init; } = new();
}

/// <summary>`auth: none`, or `auth: jwt: {...}`.</summary>
public sealed record ServerAuthConfig
{
    /// <summary>`auth: none`: no authentication (allowed on a loopback address only).</summary>
    public bool None { get; init; }

    /// <summary>`jwt.hs256_secret`: tokens signed with HMAC-SHA256 and this secret.</summary>
    public string? Hs256Secret { get; init; }

    /// <summary>`jwt.rs256_public_key_file`: tokens signed with RSA-SHA256, checked with this PEM public key.</summary>
    public string? Rs256PublicKeyFile { get; init; }

    /// <summary>`jwt.issuer`: the `iss` a token must carry; null: not checked.</summary>
    public string? Issuer { get; init; }

    /// <summary>`jwt.audience`: the `aud` a token must carry; null: not checked.</summary>
    public string? Audience { get; init; }
}

public sealed record ServerUploadsConfig
{
    /// <summary>`uploads.destination`: the LoadPipe location finished uploads become objects in.</summary>
    public string? Destination { get; init; }

    /// <summary>`uploads.staging`: where partial uploads of the concatenation extension are kept until joined.</summary>
    public string? Staging { get; init; }

    /// <summary>`uploads.max_size`: the largest upload, in bytes.</summary>
    public long? MaxSize { get; init; }

    /// <summary>`uploads.expiration`: how long an unfinished upload is kept after its creation.</summary>
    public TimeSpan? Expiration { get; init; }

    /// <summary>`uploads.md5`: record each finished upload's MD5 beside its SHA-256.</summary>
    public bool? Md5 { get; init; }
}

public sealed record ServerLimitsConfig
{
    /// <summary>`limits.max_header_size`: the total size of a request's headers.</summary>
    public long? MaxHeaderSize { get; init; }

    /// <summary>`limits.requests_per_minute`: requests one client (by IP address) may make per minute.</summary>
    public int? RequestsPerMinute { get; init; }

    /// <summary>`limits.min_body_rate`: bytes per second a request body must keep up after a grace period.</summary>
    public long? MinBodyRate { get; init; }

    /// <summary>`limits.header_timeout`: how long a client may take to send its request headers.</summary>
    public TimeSpan? HeaderTimeout { get; init; }
}
