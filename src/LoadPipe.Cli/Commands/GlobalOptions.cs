using System.CommandLine;

namespace LoadPipe.Cli.Commands;

/// <summary>Options every command takes.</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Manifest = new("--manifest")
    {
        Description = "Manifest database (default: LP_MANIFEST, else $XDG_DATA_HOME/loadpipe/manifest.db)",
        Recursive = true,
    };

    public static readonly Option<string?> Config = new("--config")
    {
        Description = "Config file (default: LP_CONFIG, else $XDG_CONFIG_HOME/loadpipe/config.yaml)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Machine-readable output: the last line on stdout is one JSON object", Recursive = true };

    public static readonly Option<bool> Debug = new("--debug") { Description = "Debug logs and stack traces", Recursive = true };

    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress, only errors", Recursive = true };

    public static readonly Option<string> LogFormat = new("--log-format")
    {
        Description = "Log lines on stderr as text or json",
        DefaultValueFactory = _ => "text",
        Recursive = true,
    };

    static GlobalOptions() => LogFormat.AcceptOnlyFromAmong("text", "json");

    public static IEnumerable<Option> All => [Manifest, Config, Json, Debug, Quiet, LogFormat];
}
