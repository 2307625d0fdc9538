using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting;

/// <summary>How log lines are written on standard error.</summary>
public enum LogFormat
{
    /// <summary><c>HH:mm:ss warn: Category[id] message</c>.</summary>
    Text,

    /// <summary>One JSON object per line.</summary>
    Json,
}

/// <summary>What a front tells <see cref="LoadPipeHost.Create"/>; each property's default is stated on it.</summary>
public sealed record LoadPipeHostSettings
{
    /// <summary>The config file. Default null: LP_CONFIG, else $XDG_CONFIG_HOME/loadpipe/config.yaml, which may be missing.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>The manifest: a path (SQLite) or a PostgreSQL URL or connection string. Default null: LP_MANIFEST, else
    /// $XDG_DATA_HOME/loadpipe/manifest.db.</summary>
    public string? Manifest { get; init; }

    /// <summary>The least level logged. Default <see cref="LogLevel.Warning"/>.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;

    /// <summary>Default <see cref="LogFormat.Text"/>.</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Text;

    /// <summary>Where log lines go. Default null: standard error.</summary>
    public TextWriter? LogOutput { get; init; }

    /// <summary>Log an exception's stack trace, not only its message. Default false.</summary>
    public bool StackTraces { get; init; }

    /// <summary>Whether the `exec:CMD` stage may run. Only a front whose user runs it on their own machine (lp) sets
    /// it; a server or a worker leaves it off, so that no client can ever run a command. Default false.</summary>
    public bool AllowExec { get; init; }

    /// <summary>The clock of backoffs, retry rounds and the manifest. Default the system's.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Reads environment variables (the LP_* settings). Default the process's.</summary>
    public Func<string, string?>? Environment { get; init; }
}
