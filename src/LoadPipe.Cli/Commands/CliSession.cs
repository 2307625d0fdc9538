using System.CommandLine;
using LoadPipe.Cli.Configuration;
using LoadPipe.Cli.Output;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;
using LoadPipe.Manifest.Sqlite;
using LoadPipe.Google;
using LoadPipe.Storage.GoogleDrive;
using LoadPipe.Storage.Http;
using LoadPipe.Storage.Local;
using LoadPipe.Storage.S3;
using LoadPipe.Storage.YouTube;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Cli.Commands;

/// <summary>What a command needs from its flags, environment and config: the wiring, in one place.</summary>
public sealed class CliSession : IAsyncDisposable
{
    private IManifest? _manifest;

    private CliSession(ParseResult parse, LoadPipeConfig config, ILoggerFactory loggers)
    {
        Parse = parse;
        Config = config;
        Loggers = loggers;
        Json = parse.GetValue(GlobalOptions.Json);
        Quiet = parse.GetValue(GlobalOptions.Quiet);
        Debug = parse.GetValue(GlobalOptions.Debug);
        Google = new GoogleServices(new HttpClient { Timeout = Timeout.InfiniteTimeSpan });
        Resolver = new LocationResolver(
            [new LocalStorageFactory(), new StdioStorageFactory(), new HttpStorageFactory(), new S3StorageFactory(loggers),
             new GoogleDriveStorageFactory(Google, loggers), new YouTubeStorageFactory(Google, ManifestAsync, loggers)],
            config.Remotes);
    }

    public ParseResult Parse { get; }
    public LoadPipeConfig Config { get; }
    public ILoggerFactory Loggers { get; }
    public LocationResolver Resolver { get; }
    public GoogleServices Google { get; }
    public bool Json { get; }
    public bool Quiet { get; }
    public bool Debug { get; }

    public static CliSession Create(ParseResult parse)
    {
        var (path, isExplicit) = EnvironmentSettings.ConfigPath(parse.GetValue(GlobalOptions.Config));
        LoadPipeConfig config;
        if (File.Exists(path)) config = ConfigReader.Load(path);
        else if (isExplicit) throw new LoadPipeException(ErrorKind.Usage, $"config {path}: no such file");
        else config = LoadPipeConfig.Empty(path);
        return new CliSession(parse, config, CreateLoggers(parse));
    }

    public async Task<IManifest> ManifestAsync(CancellationToken cancellationToken)
    {
        if (_manifest is not null) return _manifest;
        var target = EnvironmentSettings.ManifestPath(Parse.GetValue(GlobalOptions.Manifest));
        // postgres:// or postgresql:// URLs and Host=... connection strings; OpenAsync's errors are one line, no password.
        if (LoadPipe.Manifest.Postgres.PostgresManifest.Recognizes(target))
            return _manifest = await LoadPipe.Manifest.Postgres.PostgresManifest.OpenAsync(target, cancellationToken: cancellationToken).ConfigureAwait(false);
        return _manifest = await SqliteManifest.OpenAsync(target, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flags over LP_* variables over the job over the config's defaults over built-in defaults.</summary>
    public TransferOptions Options(JobSettings flags, JobSettings? job = null, string command = "copy")
    {
        var s = flags.Over(EnvironmentSettings.Read()).Over(job ?? new JobSettings()).Over(Config.Defaults);
        var options = new TransferOptions { Command = command, ConfigSnapshot = Config.Text.Length > 0 ? ConfigReader.Redact(Config.Text) : null };
        if (s.ChunkSize is { } chunk)
        {
            if (chunk < 64 << 10 || chunk > 1L << 30)
                throw new LoadPipeException(ErrorKind.Usage, $"chunk size {chunk} is out of range (64K to 1G)");
            options.ChunkSize = (int)chunk;
        }
        if (s.Transfers is { } transfers)
            options.Transfers = transfers is >= 1 and <= 256 ? transfers : throw new LoadPipeException(ErrorKind.Usage, $"--transfers {transfers}: must be from 1 to 256");
        if (s.Retries is { } retries)
            options.Retries = retries is >= 0 and <= 100 ? retries : throw new LoadPipeException(ErrorKind.Usage, $"--retries {retries}: must be from 0 to 100");
        if (s.BandwidthLimit is { } bw) options.BandwidthLimit = bw;
        if (s.Process is { } stages) options.Stages = stages.ToList();
        if (s.Include is { } include) options.Include = include.ToList();
        if (s.Exclude is { } exclude) options.Exclude = exclude.ToList();
        if (s.Extensions is { } extensions) options.Extensions = extensions.ToList();
        if (s.Checksum is { } checksum) options.VerifyAfterCommit = checksum;
        if (s.CheckDestination is { } check) options.TrustManifest = !check;
        if (s.Hash is { } hash) options.Hashes = ContentHashNames.Parse(hash, "--hash");
        if (s.CacheDirectory is { } dir) options.CacheDirectory = dir;
        if (s.CacheLimit is { } limit) options.CacheLimit = limit;
        if (s.Project is { } project) options.Project = project;
        return options;
    }

    private static ILoggerFactory CreateLoggers(ParseResult parse)
    {
        var debug = parse.GetValue(GlobalOptions.Debug);
        var level = debug ? LogLevel.Debug : parse.GetValue(GlobalOptions.Quiet) ? LogLevel.Error : LogLevel.Warning;
        var json = parse.GetValue(GlobalOptions.LogFormat) == "json";
        return new LoggerFactory([new StderrLoggerProvider(json, stackTraces: debug)], new LoggerFilterOptions { MinLevel = level });
    }

    public async ValueTask DisposeAsync()
    {
        if (_manifest is not null) await _manifest.DisposeAsync().ConfigureAwait(false);
        Google.Http.Dispose();
        Loggers.Dispose();
    }
}
