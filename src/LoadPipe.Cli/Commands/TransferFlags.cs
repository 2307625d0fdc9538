using System.CommandLine;
using LoadPipe.Cli.Configuration;
using LoadPipe.Core.Sizes;

namespace LoadPipe.Cli.Commands;

/// <summary>Flags of every command that moves bytes (copy, pull, push, sync).</summary>
public sealed class TransferFlags
{
    public readonly Option<string[]> Process = new("--process", "-p") { Description = "A stage, repeatable, applied in order: zstd, unzstd, gzip, gunzip, brotli, unbrotli, grep:REGEX, grep-v:REGEX, exec:'CMD', md5, sha256" };
    public readonly Option<int?> Transfers = new("--transfers") { Description = "Files moved at once (default 4)" };
    public readonly Option<string?> ChunkSize = new("--chunk-size") { Description = "Chunk size, the unit of resume (default 8M)" };
    public readonly Option<string?> BandwidthLimit = new("--bwlimit") { Description = "Bytes per second over all transfers, e.g. 20M (default unlimited)" };
    public readonly Option<int?> Retries = new("--retries") { Description = "Retries of each transient fault (default 5)" };
    public readonly Option<string[]> Include = new("--include") { Description = "Copy only files matching this glob (repeatable)" };
    public readonly Option<string[]> Exclude = new("--exclude") { Description = "Leave out files matching this glob (repeatable)" };
    public readonly Option<string[]> Extensions = new("--ext") { Description = "Copy only files with these extensions, comma-separated or repeated: --ext jpg,wav,mp4" };
    public readonly Option<bool> Checksum = new("--checksum") { Description = "Re-read the destination after commit and compare SHA-256" };
    public readonly Option<bool> CheckDestination = new("--check-dest") { Description = "List the destination even for files the manifest recorded as done, and send again what is missing there" };
    public readonly Option<string?> CacheDirectory = new("--cache-dir") { Description = "Folder for the on-disk cache of replayed sources" };
    public readonly Option<string?> CacheLimit = new("--cache-limit") { Description = "Most bytes the cache may hold (default 1G)" };
    public readonly Option<string?> Project = new("--project") { Description = "Label the run's session with a project name" };
    public readonly Option<string?> OnComplete = new("--on-complete") { Description = "POST the session summary as JSON to this URL when the run ends" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Process, Transfers, ChunkSize, BandwidthLimit, Retries, Include, Exclude, Extensions, Checksum, CheckDestination, CacheDirectory, CacheLimit, Project, OnComplete })
            command.Options.Add(o);
    }

    public JobSettings Read(ParseResult p) => new()
    {
        Process = p.GetValue(Process) is { Length: > 0 } stages ? stages : null,
        Include = p.GetValue(Include) is { Length: > 0 } inc ? inc : null,
        Exclude = p.GetValue(Exclude) is { Length: > 0 } exc ? exc : null,
        Extensions = p.GetValue(Extensions) is { Length: > 0 } ext ? ext.SelectMany(e => e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList() : null,
        Transfers = p.GetValue(Transfers),
        ChunkSize = p.GetValue(ChunkSize) is { } cs ? ByteSize.Parse(cs, "--chunk-size") : null,
        BandwidthLimit = p.GetValue(BandwidthLimit) is { } bw ? ByteSize.Parse(bw, "--bwlimit") : null,
        Retries = p.GetValue(Retries),
        Checksum = p.GetValue(Checksum) ? true : null,
        CheckDestination = p.GetValue(CheckDestination) ? true : null,
        CacheDirectory = p.GetValue(CacheDirectory),
        CacheLimit = p.GetValue(CacheLimit) is { } cl ? ByteSize.Parse(cl, "--cache-limit") : null,
        Project = p.GetValue(Project),
    };
}
