using LoadPipe.Core.Manifest;
using LoadPipe.Fetch.Downloads;
using LoadPipe.Fetch.Input;
using LoadPipe.Fetch.Processing;
using LoadPipe.Storage.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Fetch.Pipeline;

/// <summary>What a simulated run draws its fake downloads from (--simulate-seed, --simulate-size, --simulate-latency).</summary>
public sealed record FetchSimulation(int Seed, string Size, string Latency);

/// <summary>A fetch run as a front asks for one: options and processor specs, not objects. Defaults as `lp fetch`'s.</summary>
public sealed record FetchRunSettings
{
    public required FetchOptions Options { get; init; }

    /// <summary>Processor specs (<see cref="FetchSpecs.Processor"/>): sha256 when none is given.</summary>
    public IReadOnlyList<string> Processors { get; init; } = [];

    /// <summary>Post-processor specs (<see cref="FetchSpecs.PostProcessor"/>), in order.</summary>
    public IReadOnlyList<string> PostProcessors { get; init; } = [];

    /// <summary>Retries of each transient download fault.</summary>
    public int Retries { get; init; } = FetchDefaults.Retries;

    /// <summary>Longest a plugin may take on one file.</summary>
    public TimeSpan PluginTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Fake downloads instead of the network; null downloads for real.</summary>
    public FetchSimulation? Simulation { get; init; }
}

/// <summary>
/// The composition of one fetch run (an HTTP client, the downloader, the processors and post-processors, the pipeline),
/// so that every front (`lp fetch`, a library user) wires it the same way and the CLI keeps only parsing and output.
/// Dispose it to stop the plugins and flush the post-processors.
/// </summary>
public sealed class FetchRun : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly List<IFileProcessor> _processors;
    private readonly List<IPostProcessor> _posts;
    private readonly IDownloader _downloader;
    private readonly FetchOptions _options;
    private readonly ILogger _logger;

    /// <summary>True when a post-processor writes its results to standard output (jsonl:-), so the summary must not.</summary>
    public bool WritesToStdout { get; }

    private FetchRun(FetchOptions options, ILogger logger, HttpClient client, List<IFileProcessor> processors,
        List<IPostProcessor> posts, IDownloader downloader, bool writesToStdout)
    {
        _options = options;
        _logger = logger;
        _client = client;
        _processors = processors;
        _posts = posts;
        _downloader = downloader;
        WritesToStdout = writesToStdout;
    }

    /// <summary>Builds the run. A bad spec is a usage error, with whatever was built before it stopped again.</summary>
    public static async Task<FetchRun> CreateAsync(FetchRunSettings settings, TimeProvider time, ILogger logger)
    {
        var options = settings.Options;
        var specs = settings.Processors is { Count: > 0 } given ? given : ["sha256"];
        var client = HttpDownloader.CreateClient(options.PerHost);
        var processors = new List<IFileProcessor>();
        var posts = new List<IPostProcessor>();
        try
        {
            foreach (var spec in specs) processors.Add(FetchSpecs.Processor(spec, options.Processors, settings.PluginTimeout));
            options.Destination = (settings.Simulation is null ? "fetch:" : "fetch-simulated:") + string.Join(",", specs);
            var retry = HttpDownloader.CreateRetryPolicy(settings.Retries, time, logger);
            var writesToStdout = false;
            foreach (var spec in settings.PostProcessors)
            {
                posts.Add(FetchSpecs.PostProcessor(spec, processors, client, retry, message => logger.LogWarning("{Message}", message)));
                writesToStdout |= FetchSpecs.WritesToStdout(spec);
            }
            IDownloader downloader = settings.Simulation is { } s
                ? new SimulatedDownloader(s.Seed, SimulatedDownloader.ParseSizeRange(s.Size), SimulatedDownloader.ParseLatencyRange(s.Latency), time)
                : new HttpDownloader(new HttpStorage(new Uri("http://localhost/"), client), retry, new PerHostLimiter(options.PerHost));
            return new FetchRun(options, logger, client, processors, posts, downloader, writesToStdout);
        }
        catch
        {
            await DisposePartsAsync(posts, processors, client).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="entries"/> through the pipeline, recorded in <paramref name="manifest"/>.</summary>
    public Task<FetchSummary> RunAsync(IAsyncEnumerable<FetchEntry> entries, SessionStart start, IManifest? manifest, CancellationToken cancellationToken) =>
        new FetchPipeline(_downloader, _processors, _posts, _options, manifest, _logger).RunAsync(entries, start, cancellationToken);

    public ValueTask DisposeAsync() => DisposePartsAsync(_posts, _processors, _client);

    private static async ValueTask DisposePartsAsync(List<IPostProcessor> posts, List<IFileProcessor> processors, HttpClient client)
    {
        foreach (var post in posts) await post.DisposeAsync().ConfigureAwait(false);
        foreach (var p in processors.OfType<IAsyncDisposable>()) await p.DisposeAsync().ConfigureAwait(false);
        client.Dispose();
    }
}
