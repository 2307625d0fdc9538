using System.Globalization;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Stages;

/// <summary>
/// Parses stage specs ("zstd", "zstd:19", "grep:REGEX", "exec:CMD") into stages. A library user adds their own
/// with <see cref="Register"/>.
/// </summary>
public sealed class StageCatalog
{
    private readonly Dictionary<string, Func<string?, IStage>> _makers = new(StringComparer.Ordinal);
    private readonly bool _allowExec;

    /// <summary>Every built-in stage, exec included: for a front whose user runs it on their own machine (lp).</summary>
    public StageCatalog()
        : this(allowExec: true)
    {
    }

    /// <param name="allowExec">False for a front that serves others (a server, a worker): `exec:CMD` is then refused
    /// with a usage error, so that no client can ever run a command on the machine.</param>
    public StageCatalog(bool allowExec)
    {
        _allowExec = allowExec;
        Register("zstd", a => new ZstdStage(Level(a, "zstd", 3, 1, 22)));
        Register("unzstd", a => NoArgument(a, "unzstd", new UnzstdStage()));
        Register("gzip", a => new GzipStage(Level(a, "gzip", 6, 1, 9)));
        Register("gunzip", a => NoArgument(a, "gunzip", new GunzipStage()));
        Register("brotli", a => new BrotliStage(Level(a, "brotli", 4, 0, 11)));
        Register("unbrotli", a => NoArgument(a, "unbrotli", new UnbrotliStage()));
        Register("grep", a => new GrepStage(Required(a, "grep", "grep:REGEX")));
        Register("grep-v", a => new GrepStage(Required(a, "grep-v", "grep-v:REGEX"), invert: true));
        if (allowExec) Register("exec", a => new ExecStage(Required(a, "exec", "exec:'COMMAND'")));
        foreach (var h in new[] { "md5", "sha1", "sha256", "sha512" })
            Register(h, a => NoArgument(a, h, new HashTapStage(h)));
    }

    public IEnumerable<string> Names => _makers.Keys.Order();

    public void Register(string name, Func<string?, IStage> make) => _makers[name] = make;

    /// <summary>What a pipeline's specs are joined with in the manifest's transfer key ("unzstd | grep:x | zstd").</summary>
    public const string PipelineSeparator = " | ";

    /// <summary>The specs of a pipeline as the manifest recorded it (<see cref="PipelineSeparator"/>-joined).</summary>
    public static IReadOnlyList<string> SplitPipeline(string pipeline) =>
        pipeline.Length == 0 ? [] : pipeline.Split(PipelineSeparator);

    public IStage Parse(string spec)
    {
        // The manifest joins specs with the separator; a spec holding it could not be read back by `lp retry`.
        if (spec.Contains(PipelineSeparator, StringComparison.Ordinal))
            throw new LoadPipeException(ErrorKind.Usage, $"stage '{spec}': ' | ' (a bar between spaces) cannot be part of a stage; in a regex write 'a|b'");
        var colon = spec.IndexOf(':');
        var name = colon < 0 ? spec : spec[..colon];
        var argument = colon < 0 ? null : spec[(colon + 1)..];
        if (!_makers.TryGetValue(name.Trim(), out var make))
            throw new LoadPipeException(ErrorKind.Usage, !_allowExec && name.Trim() == "exec"
                ? "stage exec is not allowed here: this front never runs a command it is sent"
                : $"unknown stage '{name}' (known: {string.Join(", ", Names)})");
        return make(argument);
    }

    public IReadOnlyList<IStage> ParseAll(IEnumerable<string> specs) => specs.Select(Parse).ToList();

    private static int Level(string? argument, string name, int fallback, int min, int max)
    {
        if (argument is null) return fallback;
        if (int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var level) && level >= min && level <= max)
            return level;
        throw new LoadPipeException(ErrorKind.Usage, $"stage {name}: level must be a whole number from {min} to {max}, not '{argument}'");
    }

    private static string Required(string? argument, string name, string form) =>
        string.IsNullOrEmpty(argument)
            ? throw new LoadPipeException(ErrorKind.Usage, $"stage {name} needs an argument: {form}")
            : argument;

    private static IStage NoArgument(string? argument, string name, IStage stage) =>
        argument is null ? stage : throw new LoadPipeException(ErrorKind.Usage, $"stage {name} takes no argument");
}
