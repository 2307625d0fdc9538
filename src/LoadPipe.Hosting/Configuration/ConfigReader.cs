using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Sizes;
using LoadPipe.Core.Transfers;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LoadPipe.Hosting.Configuration;

/// <summary>
/// Reads the YAML configuration by walking its nodes, so every mistake names its file, line and key
/// ("config.yaml:12: jobs[0].chunk_size: '8Q' is not a size").
/// </summary>
public static partial class ConfigReader
{
    private static readonly HashSet<string> TopKeys = ["remotes", "defaults", "jobs"];
    private static readonly HashSet<string> SettingKeys =
        ["process", "include", "exclude", "extensions", "chunk_size", "transfers", "retries", "bwlimit", "cache_dir", "cache_limit", "checksum", "check_dest", "hash", "project"];

    public static LoadPipeConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"config {path}: cannot read ({e.Message})");
        }
        return Parse(text, path);
    }

    public static LoadPipeConfig Parse(string text, string path)
    {
        var name = Path.GetFileName(path);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"{name}:{e.Start.Line}:{e.Start.Column}: {Innermost(e)}");
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet gives up without a position on some unclosed flow collections: find the opening ourselves.
            throw new LoadPipeException(ErrorKind.Usage, UnclosedFlowLine(text) is { } line
                ? $"{name}:{line}: a '[' or '{{' opened on this line is never closed"
                : $"{name}: not valid YAML");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return LoadPipeConfig.Empty(path) with { Text = text };
        var root = Map(stream.Documents[0].RootNode, name, "the top level");

        var remotes = new Dictionary<string, RemoteDefinition>(StringComparer.Ordinal);
        var defaults = new JobSettings();
        var jobs = new List<JobDefinition>();
        foreach (var (keyNode, value) in root.Children)
        {
            var key = Key(keyNode, name);
            switch (key)
            {
                case "remotes":
                    foreach (var (remoteKey, remoteNode) in Map(value, name, "remotes").Children)
                    {
                        var remoteName = Key(remoteKey, name);
                        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
                        string? type = null;
                        foreach (var (settingKey, settingNode) in Map(remoteNode, name, $"remotes.{remoteName}").Children)
                        {
                            var setting = Key(settingKey, name);
                            var v = Scalar(settingNode, name, $"remotes.{remoteName}.{setting}");
                            if (setting == "type") type = v;
                            else settings[setting] = v;
                        }
                        if (type is null) throw Error(name, remoteNode, $"remotes.{remoteName}: 'type' is missing (local, http)");
                        remotes[remoteName] = new RemoteDefinition(remoteName, type, settings, $"{name}:{remoteNode.Start.Line}");
                    }
                    break;
                case "defaults":
                    defaults = Settings(Map(value, name, "defaults"), name, "defaults", allowJobKeys: false);
                    break;
                case "jobs":
                    if (value is not YamlSequenceNode list) throw Error(name, value, "jobs: must be a list of jobs (each starting with '- ')");
                    for (var i = 0; i < list.Children.Count; i++)
                    {
                        var where = $"jobs[{i}]";
                        var job = Map(list.Children[i], name, where);
                        var fields = job.Children.ToDictionary(kv => Key(kv.Key, name), kv => kv.Value);
                        string Required(string field) => fields.TryGetValue(field, out var n)
                            ? Scalar(n, name, $"{where}.{field}")
                            : throw Error(name, job, $"{where}: '{field}' is missing");
                        var jobName = fields.TryGetValue("name", out var nameNode) ? Scalar(nameNode, name, $"{where}.name") : $"job{i + 1}";
                        jobs.Add(new JobDefinition(jobName, Required("source"), Required("destination"),
                            Settings(job, name, where, allowJobKeys: true), $"{name}:{job.Start.Line}"));
                    }
                    break;
                default:
                    throw Error(name, keyNode, $"unknown key '{key}' (known: {string.Join(", ", TopKeys)})");
            }
        }
        return new LoadPipeConfig(path, remotes, defaults, jobs, text);
    }

    private static JobSettings Settings(YamlMappingNode node, string file, string where, bool allowJobKeys)
    {
        var s = new JobSettings();
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Key(keyNode, file);
            var at = $"{where}.{key}";
            if (allowJobKeys && key is "name" or "source" or "destination") continue;
            s = key switch
            {
                "process" => s with { Process = List(value, file, at) },
                "include" => s with { Include = List(value, file, at) },
                "exclude" => s with { Exclude = List(value, file, at) },
                "extensions" => s with { Extensions = List(value, file, at) },
                "chunk_size" => s with { ChunkSize = Size(value, file, at) },
                "transfers" => s with { Transfers = Int(value, file, at, 1, 256) },
                "retries" => s with { Retries = Int(value, file, at, 0, 100) },
                "bwlimit" => s with { BandwidthLimit = Size(value, file, at) },
                "cache_dir" => s with { CacheDirectory = Scalar(value, file, at) },
                "cache_limit" => s with { CacheLimit = Size(value, file, at) },
                "checksum" => s with { Checksum = Bool(value, file, at) },
                "check_dest" => s with { CheckDestination = Bool(value, file, at) },
                "hash" => s with { Hash = Hashes(value, file, at) },
                "project" => s with { Project = Scalar(value, file, at) },
                _ => throw Error(file, keyNode, $"{where}: unknown key '{key}' (known: {string.Join(", ", allowJobKeys ? SettingKeys.Concat(["name", "source", "destination"]) : SettingKeys)})"),
            };
        }
        return s;
    }

    private static YamlMappingNode Map(YamlNode node, string file, string where) =>
        node as YamlMappingNode ?? throw Error(file, node, $"{where}: expected a mapping of 'key: value' lines");

    private static string Key(YamlNode node, string file) =>
        node is YamlScalarNode { Value: { } v } ? v : throw Error(file, node, "a key must be plain text");

    private static string Scalar(YamlNode node, string file, string where) =>
        node is YamlScalarNode { Value: { } v } ? v : throw Error(file, node, $"{where}: expected a single value");

    private static IReadOnlyList<string> List(YamlNode node, string file, string where) => node switch
    {
        YamlSequenceNode seq => seq.Children.Select((c, i) => Scalar(c, file, $"{where}[{i}]")).ToList(),
        YamlScalarNode { Value: { } v } => [v],
        _ => throw Error(file, node, $"{where}: expected a list"),
    };

    private static IReadOnlyList<string> Hashes(YamlNode node, string file, string where)
    {
        var list = List(node, file, where);
        try { ContentHashNames.Parse(list, where); }
        catch (LoadPipeException e) { throw Error(file, node, e.Message); }
        return list;
    }

    private static long Size(YamlNode node, string file, string where)
    {
        var text = Scalar(node, file, where);
        return ByteSize.TryParse(text, out var v) ? v : throw Error(file, node, $"{where}: '{text}' is not a size (examples: 512K, 8M, 1G)");
    }

    private static int Int(YamlNode node, string file, string where, int min, int max)
    {
        var text = Scalar(node, file, where);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw Error(file, node, $"{where}: '{text}' must be a whole number from {min} to {max}");
    }

    private static bool Bool(YamlNode node, string file, string where) => Scalar(node, file, where) switch
    {
        "true" or "yes" => true,
        "false" or "no" => false,
        var v => throw Error(file, node, $"{where}: '{v}' must be true or false"),
    };

    private static LoadPipeException Error(string file, YamlNode node, string message) =>
        new(ErrorKind.Usage, $"{file}:{node.Start.Line}: {message}");

    /// <summary>The 1-based line of the first '[' or '{' (outside quotes and comments) still open at the end.</summary>
    private static int? UnclosedFlowLine(string text)
    {
        var open = new Stack<int>();
        var line = 1;
        char quote = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') { line++; quote = '\0'; continue; }
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            switch (c)
            {
                case '"' or '\'': quote = c; break;
                case '#': while (i + 1 < text.Length && text[i + 1] != '\n') i++; break;
                case '[' or '{': open.Push(line); break;
                case ']' or '}' when open.Count > 0: open.Pop(); break;
            }
        }
        return open.Count > 0 ? open.Last() : null;
    }

    /// <summary>The config text with the values of secret-looking keys (secret, password, token, private key)
    /// replaced by ***: what is stored with each session, where others may read it.</summary>
    public static string Redact(string text) => SecretLine().Replace(text, "$1\"***\"");

    [System.Text.RegularExpressions.GeneratedRegex(@"(?im)^(\s*-?\s*[\w.-]*(?:secret|password|passwd|token|private_key|credentials?)[\w.-]*\s*:\s*)(?!\s*$).+$")]
    private static partial System.Text.RegularExpressions.Regex SecretLine();

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        var message = e.Message;
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        return close >= 0 && message.StartsWith('(') ? message[(close + 3)..] : message;
    }
}
