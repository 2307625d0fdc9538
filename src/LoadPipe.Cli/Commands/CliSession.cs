using System.CommandLine;
using LoadPipe.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Cli.Commands;

/// <summary>
/// One command's run as the CLI sees it: the output flags (--json, --quiet, --debug) and the host (LoadPipe.Hosting)
/// made from the global flags. Commands call the host itself (<see cref="Host"/>) for config, remotes, the manifest
/// and options: the CLI holds no wiring.
/// </summary>
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
