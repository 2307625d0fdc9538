using LoadPipe.Core.Errors;
using LoadPipe.Fetch.Plugins;
using LoadPipe.Fetch.PostProcessors;
using LoadPipe.Fetch.Processors;
using Polly;

namespace LoadPipe.Fetch.Processing;

/// <summary>
/// The processors and post-processors a front names in text (`--processor sha256`, `--post-processor jsonl:FILE`), made
/// here so that every front (the CLI, a worker) reads the same names. A name that is not one of them is a usage error.
/// </summary>
public static class FetchSpecs
{
    public const string ProcessorNames = "md5, sha1, sha256, content-type, counts, archive or plugin:COMMAND";

    /// <summary>A built-in processor, or a plugin run as <paramref name="instances"/> copies, each given
    /// <paramref name="pluginTimeout"/> per file.</summary>
    public static IFileProcessor Processor(string spec, int instances, TimeSpan pluginTimeout) => spec switch
    {
        "md5" or "sha1" or "sha256" => new HashProcessor(spec),
        "content-type" => new ContentTypeProcessor(),
        "counts" => new CountsProcessor(),
        "archive" => new ArchiveListProcessor(),
        _ when spec.StartsWith("plugin:", StringComparison.Ordinal) && spec.Length > "plugin:".Length =>
            new PluginProcessor(spec["plugin:".Length..], instances, pluginTimeout),
        _ => throw new LoadPipeException(ErrorKind.Usage, $"--processor '{spec}': expected {ProcessorNames}"),
    };

    /// <summary>`jsonl:FILE` (`-`: stdout), `csv:FILE` (a column per processor) or `http:URL` (POSTed in batches with
    /// <paramref name="client"/>, retried by <paramref name="retry"/>, a batch not delivered reported to <paramref name="warn"/>).</summary>
    public static IPostProcessor PostProcessor(string spec, IReadOnlyList<IFileProcessor> processors, HttpClient client, ResiliencePipeline retry, Action<string> warn)
    {
        var (kind, target) = Split(spec);
        return kind switch
        {
            "jsonl" => new JsonLinesPostProcessor(target),
            "csv" => new CsvPostProcessor(target, processors.Select(p => p.Name).ToList()),
            "http" when Uri.TryCreate(target, UriKind.Absolute, out var url) && url.Scheme.StartsWith("http", StringComparison.Ordinal) =>
                new HttpPostProcessor(url, client, retry, warn),
            _ => throw BadPostProcessor(spec),
        };
    }

    /// <summary>True for `jsonl:-`: the results go to stdout, so the summary must not.</summary>
    public static bool WritesToStdout(string spec) => Split(spec) is ("jsonl", "-");

    private static (string Kind, string Target) Split(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var (kind, target) = colon < 0 ? (spec, "") : (spec[..colon], spec[(colon + 1)..]);
        return target.Length == 0 ? throw BadPostProcessor(spec) : (kind, target);
    }

    private static LoadPipeException BadPostProcessor(string spec) =>
        new(ErrorKind.Usage, $"--post-processor '{spec}': expected jsonl:FILE, csv:FILE or http:URL");
}
