using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Notifications;
using LoadPipe.Core.Stages;
using LoadPipe.Core.Transfers;
using LoadPipe.Core.Uploads;
using LoadPipe.Google;
using LoadPipe.Hosting.Adapters;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Hosting.Logging;
using LoadPipe.Hosting.Manifests;
using LoadPipe.Hosting.Options;
using LoadPipe.Hosting.Retries;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting;

/// <summary>
/// The composition root every front (the CLI, a server, a worker) creates the same way, once per process: the config
/// and its remotes, the loggers, the resolver over every adapter, the stages this front allows, the manifest (opened
/// on first use), validated transfer options, engines and retry rounds.
/// </summary>
public sealed class LoadPipeHost : IAsyncDisposable
{
    private readonly SemaphoreSlim _manifestGate = new(1, 1);
    private readonly TransferOptionsBuilder _options;
    private IManifest? _manifest;

    private LoadPipeHost(LoadPipeHostSettings settings, LoadPipeConfig config)
    {
        Config = config;
        Time = settings.Time ?? TimeProvider.System;
        ManifestTarget = Manifests.ManifestTarget.Resolve(settings.Manifest);
        Loggers = new LoggerFactory(
            [new StderrLoggerProvider(settings.LogFormat == LogFormat.Json, settings.StackTraces, settings.LogOutput)],
            new LoggerFilterOptions { MinLevel = settings.LogLevel });
        Google = new GoogleServices(new HttpClient { Timeout = Timeout.InfiniteTimeSpan });
        Resolver = new LocationResolver(StorageAdapters.All(new AdapterServices(Loggers, Google, ManifestAsync)), config.Remotes);
        Stages = new StageCatalog(settings.AllowExec);
        _options = new TransferOptionsBuilder(config, settings.Environment);
        Retries = new RetryRounds(this);
    }

    public LoadPipeConfig Config { get; }
    public ILoggerFactory Loggers { get; }
    public LocationResolver Resolver { get; }

    private readonly Dictionary<string, LocationResolver> _userResolvers = new(StringComparer.Ordinal);

    /// <summary>
    /// The resolver whose Google remotes sign in as <paramref name="user"/> (seed 003's users: the sign-in
    /// `lp auth login NAME --user USER` stored, never another's or the default one: <see cref="GoogleServices.ForUser"/>);
    /// <see cref="Resolver"/> for null. One per user per process, so a user's storages share their token refreshes.
    /// </summary>
    public LocationResolver ResolverFor(string? user)
    {
        if (user is null) return Resolver;
        lock (_userResolvers)
        {
            if (!_userResolvers.TryGetValue(user, out var resolver))
                _userResolvers[user] = resolver = new LocationResolver(StorageAdapters.All(new AdapterServices(Loggers, Google.ForUser(user), ManifestAsync)), Config.Remotes);
            return resolver;
        }
    }
    public GoogleServices Google { get; }
    public StageCatalog Stages { get; }
    public TimeProvider Time { get; }

    /// <summary>What the manifest is opened from: a SQLite path, or a PostgreSQL URL or connection string.</summary>
    public string ManifestTarget { get; }

    public RetryRounds Retries { get; }

    /// <summary>Reads the config file (a missing default one is an empty config; a missing named one is a usage error).</summary>
    public static LoadPipeHost Create(LoadPipeHostSettings settings)
    {
        var (path, isExplicit) = EnvironmentSettings.ConfigPath(settings.ConfigPath);
        LoadPipeConfig config;
        if (File.Exists(path)) config = ConfigReader.Load(path);
        else if (isExplicit) throw new LoadPipeException(ErrorKind.Usage, $"config {path}: no such file");
        else config = LoadPipeConfig.Empty(path);
        return new LoadPipeHost(settings, config);
    }

    /// <summary>The manifest, opened (and migrated) on the first call; the same instance after.</summary>
    public async Task<IManifest> ManifestAsync(CancellationToken cancellationToken = default)
    {
        if (_manifest is { } open) return open;
        await _manifestGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _manifest ??= await Manifests.ManifestTarget.OpenAsync(ManifestTarget, Time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _manifestGate.Release();
        }
    }

    /// <summary>A run's options: <paramref name="settings"/> (the front's own, e.g. flags) over LP_* over the job over the
    /// config's defaults, checked against <see cref="TransferOptions"/>' attributes (a usage error if out of range).</summary>
    public TransferOptions Options(JobSettings settings, JobSettings? job = null, string command = "copy") =>
        _options.Build(settings, job, command);

    /// <summary>An engine on <paramref name="manifest"/> with this front's stages, logger and clock.</summary>
    public TransferEngine CreateEngine(IManifest manifest) =>
        new(manifest, Stages, Loggers.CreateLogger("LoadPipe"), Time);

    /// <summary>The push entry (<see cref="IUploads"/>) on this host's manifest, resolver, stages, clock and logger, for
    /// a front that receives bytes (a tus server, an upload API) rather than pulling them. Dispose it before the host:
    /// it records the end of its session.</summary>
    public async Task<UploadService> CreateUploadsAsync(UploadServiceOptions? options = null, CancellationToken cancellationToken = default)
    {
        var manifest = await ManifestAsync(cancellationToken).ConfigureAwait(false);
        return new UploadService(manifest, Resolver.Resolve, Stages, options, Time, Loggers.CreateLogger("LoadPipe.Uploads"));
    }

    /// <summary>Sends a session's summary to a completion webhook (--on-complete): JSON with its length, retried 5 times
    /// a second apart. Every front that finishes sessions reports them the same way.</summary>
    public Task NotifyAsync(Uri url, SessionRecord record, CancellationToken cancellationToken = default) =>
        new SessionNotifier(_notifications, 5, TimeSpan.FromSeconds(1)).SendAsync(url, SessionReport.From(record), cancellationToken);

    private readonly HttpClient _notifications = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        _notifications.Dispose();
        if (_manifest is not null) await _manifest.DisposeAsync().ConfigureAwait(false);
        _manifestGate.Dispose();
        Google.Http.Dispose();
        Loggers.Dispose();
    }
}
