using System.CommandLine;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Transfers;
using LoadPipe.Google;
using LoadPipe.Hosting;
using LoadPipe.Hosting.Configuration;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Cli.Commands;

/// <summary>What a command needs: its output flags, and the host (LoadPipe.Hosting) made from the global flags.</summary>
public sealed class CliSession : IAsyncDisposable
{
    private CliSession(ParseResult parse, LoadPipeHost host)
    {
        Host = host;
        Json = parse.GetValue(GlobalOptions.Json);
        Quiet = parse.GetValue(GlobalOptions.Quiet);
        Debug = parse.GetValue(GlobalOptions.Debug);
    }

    public LoadPipeHost Host { get; }
    public bool Json { get; }
    public bool Quiet { get; }
    public bool Debug { get; }

    // Shorthands for the host's parts the commands use.
    public LoadPipeConfig Config => Host.Config;
    public LocationResolver Resolver => Host.Resolver;
    public GoogleServices Google => Host.Google;

    public Task<IManifest> ManifestAsync(CancellationToken cancellationToken) => Host.ManifestAsync(cancellationToken);

    /// <summary>Flags over LP_* variables over the job over the config's defaults over built-in defaults, range-checked.</summary>
    public TransferOptions Options(JobSettings flags, JobSettings? job = null, string command = "copy") => Host.Options(flags, job, command);

    public static CliSession Create(ParseResult parse, bool allowExec = true)
    {
        var debug = parse.GetValue(GlobalOptions.Debug);
        return new CliSession(parse, LoadPipeHost.Create(new LoadPipeHostSettings
        {
            ConfigPath = parse.GetValue(GlobalOptions.Config),
            Manifest = parse.GetValue(GlobalOptions.Manifest),
            LogLevel = debug ? LogLevel.Debug : parse.GetValue(GlobalOptions.Quiet) ? LogLevel.Error : LogLevel.Warning,
            LogFormat = parse.GetValue(GlobalOptions.LogFormat) == "json" ? LogFormat.Json : LogFormat.Text,
            StackTraces = debug,
            // lp runs as its user, on their machine: exec:CMD runs what they could run themselves; `lp serve` turns it off.
            AllowExec = allowExec,
        }));
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
