using LoadPipe.Core.Locations;

namespace LoadPipe.Hosting.Configuration;

/// <summary>What one YAML file holds: remotes, defaults for every command, the jobs `lp sync` runs, and the server's settings.</summary>
public sealed record LoadPipeConfig(
    string Path,
    IReadOnlyDictionary<string, RemoteDefinition> Remotes,
    JobSettings Defaults,
    IReadOnlyList<JobDefinition> Jobs,
    string Text)
{
    public static LoadPipeConfig Empty(string path) => new(path, new Dictionary<string, RemoteDefinition>(), new JobSettings(), [], "");

    /// <summary>The `server:` section (`lp serve`); empty when the file has none.</summary>
    public ServerConfig Server { get; init; } = new();
}

/// <summary>A job: a source, a destination, and how to move between them.</summary>
public sealed record JobDefinition(string Name, string Source, string Destination, JobSettings Settings, string Origin);

/// <summary>Settings a job, the defaults section, the environment or a flag may give; null means "not given here".</summary>
public sealed record JobSettings
{
    public IReadOnlyList<string>? Process { get; init; }
    public IReadOnlyList<string>? Include { get; init; }
    public IReadOnlyList<string>? Exclude { get; init; }
    public IReadOnlyList<string>? Extensions { get; init; }
    public long? ChunkSize { get; init; }
    public int? Transfers { get; init; }
    public int? Retries { get; init; }
    public long? BandwidthLimit { get; init; }
    public string? CacheDirectory { get; init; }
    public long? CacheLimit { get; init; }
    public bool? Checksum { get; init; }
    public bool? CheckDestination { get; init; }
    public IReadOnlyList<string>? Hash { get; init; }
    public string? Project { get; init; }

    /// <summary>This layer's values where given, else <paramref name="under"/>'s.</summary>
    public JobSettings Over(JobSettings under) => new()
    {
        Process = Process ?? under.Process,
        Include = Include ?? under.Include,
        Exclude = Exclude ?? under.Exclude,
        Extensions = Extensions ?? under.Extensions,
        ChunkSize = ChunkSize ?? under.ChunkSize,
        Transfers = Transfers ?? under.Transfers,
        Retries = Retries ?? under.Retries,
        BandwidthLimit = BandwidthLimit ?? under.BandwidthLimit,
        CacheDirectory = CacheDirectory ?? under.CacheDirectory,
        CacheLimit = CacheLimit ?? under.CacheLimit,
        Checksum = Checksum ?? under.Checksum,
        CheckDestination = CheckDestination ?? under.CheckDestination,
        Hash = Hash ?? under.Hash,
        Project = Project ?? under.Project,
    };
}
