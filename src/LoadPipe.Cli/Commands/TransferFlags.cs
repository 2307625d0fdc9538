using System.CommandLine;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;
using LoadPipe.Storage.YouTube;

namespace LoadPipe.Cli.Commands;

/// <summary>Flags of every command that moves bytes (copy, pull, push, sync).</summary>
public sealed class TransferFlags
{
    public readonly Option<string[]> Process = new("--process", "-p") { Description = "A stage, repeatable, applied in order: zstd, unzstd, gzip, gunzip, brotli, unbrotli, grep:REGEX, grep-v:REGEX, exec:'CMD', md5, sha256" };
    public readonly Option<int?> Transfers = new("--transfers") { Description = "Files moved at once (default 4)", CustomParser = NumberArguments.OptionalWhole<int> };
    public readonly Option<string?> ChunkSize = new("--chunk-size") { Description = "Chunk size, the unit of resume (default 8M)" };
    public readonly Option<string?> BandwidthLimit = new("--bwlimit") { Description = "Bytes per second over all transfers, e.g. 20M (default unlimited)" };
    public readonly Option<int?> Retries = new("--retries") { Description = "Retries of each transient fault (default 5)", CustomParser = NumberArguments.OptionalWhole<int> };
    public readonly Option<string[]> Include = new("--include") { Description = "Copy only files matching this glob (repeatable)" };
    public readonly Option<string[]> Exclude = new("--exclude") { Description = "Leave out files matching this glob (repeatable)" };
    public readonly Option<string[]> Extensions = new("--ext") { Description = "Copy only files with these extensions, comma-separated or repeated: --ext jpg,wav,mp4" };
    public readonly Option<bool> Checksum = new("--checksum") { Description = "Re-read the destination after commit and compare SHA-256" };
    public readonly Option<string[]> Hash = new("--hash") { Description = "Whole-file hashes to compute and record: sha256, md5, both (md5,sha256) or none (default sha256; md5 is added where a source offers one to check)" };
    public readonly Option<bool> CheckDestination = new("--check-dest") { Description = "List the destination even for files the manifest recorded as done, and send again what is missing there" };
    public readonly Option<string?> CacheDirectory = new("--cache-dir") { Description = "Folder for the on-disk cache of replayed sources" };
    public readonly Option<string?> CacheLimit = new("--cache-limit") { Description = "Most bytes the cache may hold (default 1G)" };
    public readonly Option<string?> Project = new("--project") { Description = "Label the run's session with a project name" };
    public readonly Option<string?> OnComplete = new("--on-complete") { Description = "POST the session summary as JSON to this URL when the run ends" };

    // Video metadata for a youtube destination: --meta FILE.json (the video resource's snippet and status), the flags over it.
    public readonly Option<string?> Meta = new("--meta") { Description = "Video metadata for a youtube destination: a JSON file {\"snippet\":{\"title\",\"description\",\"tags\",\"categoryId\"},\"status\":{\"privacyStatus\"}}" };
    public readonly Option<string?> Title = new("--title") { Description = "Video title (default: the file name without its extension)" };
    public readonly Option<string?> VideoDescription = new("--description") { Description = "Video description" };
    public readonly Option<string[]> Tags = new("--tags") { Description = "Video tags, comma-separated or repeated" };
    public readonly Option<string?> Category = new("--category") { Description = "Video category id (e.g. 22, People & Blogs)" };
    public readonly Option<string?> Privacy = new("--privacy") { Description = "private, unlisted or public (default private)" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Process, Transfers, ChunkSize, BandwidthLimit, Retries, Include, Exclude, Extensions, Checksum, Hash, CheckDestination, CacheDirectory, CacheLimit, Project, OnComplete,
                     Meta, Title, VideoDescription, Tags, Category, Privacy })
            command.Options.Add(o);
    }

    /// <summary>
    /// The destination metadata from --meta and the video flags (<see cref="TransferOptions.Metadata"/>), checked now so
    /// that a mistake stops the run before any upload; empty when none was given.
    /// </summary>
    public Dictionary<string, string> ReadMetadata(ParseResult p)
    {
        var tags = p.GetValue(Tags) is { Length: > 0 } t
            ? t.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : null;
        var (file, title, description, category, privacy) = (p.GetValue(Meta), p.GetValue(Title), p.GetValue(VideoDescription), p.GetValue(Category), p.GetValue(Privacy));
        if (file is null && title is null && description is null && tags is null && category is null && privacy is null) return [];
        var video = (file is null ? VideoMetadata.Empty : VideoMetadata.Load(file)).With(title, description, tags, category, privacy);
        return new Dictionary<string, string> { [VideoMetadata.MetadataKey] = video.ToJson() };
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
        Hash = p.GetValue(Hash) is { Length: > 0 } hash ? hash : null,
        CacheDirectory = p.GetValue(CacheDirectory),
        CacheLimit = p.GetValue(CacheLimit) is { } cl ? ByteSize.Parse(cl, "--cache-limit") : null,
        Project = p.GetValue(Project),
    };
}
