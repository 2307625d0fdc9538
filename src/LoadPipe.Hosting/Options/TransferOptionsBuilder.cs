using System.Globalization;
using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Hosting.Options;

/// <summary>
/// A run's <see cref="TransferOptions"/>: the front's own settings (the CLI's flags) over LP_* variables over the job
/// over the config's defaults over the built-in defaults, then checked against the options' validation attributes.
/// </summary>
/// <param name="environment">Reads LP_* variables; default the process's.</param>
public sealed partial class TransferOptionsBuilder(LoadPipeConfig config, Func<string, string?>? environment = null)
{
    private static readonly TransferOptionsValidator Validator = new();

    public TransferOptions Build(JobSettings flags, JobSettings? job = null, string command = "copy")
    {
        var s = flags.Over(EnvironmentSettings.Read(environment)).Over(job ?? new JobSettings()).Over(config.Defaults);
        var options = new TransferOptions { Command = command, ConfigSnapshot = config.Text.Length > 0 ? ConfigReader.Redact(config.Text) : null };
        // A chunk size past int's range is out of [Range] too: clamped so that the check, not a wrap-around, reports it.
        if (s.ChunkSize is { } chunk) options.ChunkSize = (int)Math.Clamp(chunk, int.MinValue, int.MaxValue);
        if (s.Transfers is { } transfers) options.Transfers = transfers;
        if (s.Retries is { } retries) options.Retries = retries;
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
        Check(options, s);
        return options;
    }

    /// <summary>
    /// Throws a one-line usage error naming the setting as the CLI spells it and the value given
    /// ("--transfers 0: must be from 1 to 256"), from the first attribute that fails.
    /// </summary>
    public static void Check(TransferOptions options, JobSettings? given = null)
    {
        var result = Validator.Validate(null, options);
        if (!result.Failed) return;
        // The generated validator's failures read "Member: The field TransferOptions.Member must be between MIN and MAX."
        // (its copy of [Range] ignores an ErrorMessage): the member says which setting, the bounds are the attribute's.
        var failure = result.Failures!.First();
        var colon = failure.IndexOf(": ", StringComparison.Ordinal);
        var (member, detail) = colon < 0 ? ("", failure) : (failure[..colon], failure[(colon + 2)..]);
        var (name, value, isSize) = member switch
        {
            nameof(TransferOptions.ChunkSize) => ("--chunk-size", given?.ChunkSize ?? options.ChunkSize, true),
            nameof(TransferOptions.Transfers) => ("--transfers", given?.Transfers ?? options.Transfers, false),
            nameof(TransferOptions.Retries) => ("--retries", given?.Retries ?? options.Retries, false),
            nameof(TransferOptions.BandwidthLimit) => ("--bwlimit", given?.BandwidthLimit ?? options.BandwidthLimit, true),
            _ => (member, (long?)null, false),
        };
        if (value is null) throw new LoadPipeException(ErrorKind.Usage, failure);
        var bounds = RangeBounds().Match(detail);
        var message = bounds.Success
            && double.TryParse(bounds.Groups["min"].Value, NumberStyles.Float, CultureInfo.CurrentCulture, out var min)
            && double.TryParse(bounds.Groups["max"].Value, NumberStyles.Float, CultureInfo.CurrentCulture, out var max)
                ? max >= long.MaxValue ? $"must be {Bound(min, isSize)} or more" : $"must be from {Bound(min, isSize)} to {Bound(max, isSize)}"
                : detail;
        throw new LoadPipeException(ErrorKind.Usage, string.Create(CultureInfo.InvariantCulture, $"{name} {value}: {message}"));
    }

    private static string Bound(double bound, bool isSize) =>
        isSize ? ByteSize.Format((long)bound) : ((long)bound).ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"between (?<min>\S+) and (?<max>\S+?)\.?$")]
    private static partial Regex RangeBounds();
}
