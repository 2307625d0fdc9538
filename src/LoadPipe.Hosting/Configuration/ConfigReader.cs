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
    private static readonly HashSet<string> TopKeys = ["remotes", "defaults", "jobs", "server"];
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
        var server = new ServerConfig();
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
                            if (settingNode is YamlMappingNode map && setting != "type")
                            {
                                // A map setting (a tus remote's `headers:`) becomes "setting.KEY" entries.
                                foreach (var (entryKey, entryNode) in map.Children)
                                {
                                    var entry = Key(entryKey, name);
                                    settings[$"{setting}.{entry}"] = Scalar(entryNode, name, $"remotes.{remoteName}.{setting}.{entry}");
                                }
                                continue;
                            }
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
                case "server":
                    server = Server(Map(value, name, "server"), name);
                    break;
                default:
                    throw Error(name, keyNode, $"unknown key '{key}' (known: {string.Join(", ", TopKeys)})");
            }
        }
        return new LoadPipeConfig(path, remotes, defaults, jobs, text) { Server = server };
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

    private static ServerConfig Server(YamlMappingNode node, string file)
    {
        var s = new ServerConfig();
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Key(keyNode, file);
            var at = $"server.{key}";
            s = key switch
            {
                "listen" => s with { Listen = Scalar(value, file, at) },
                "auth" => s with { Auth = ServerAuth(value, file) },
                "uploads" => s with { Uploads = ServerUploads(Map(value, file, at), file) },
                "cors" => s with { CorsOrigins = Only(Map(value, file, at), file, at, "origins", v => List(v, file, "server.cors.origins")) },
                "limits" => s with { Limits = ServerLimits(Map(value, file, at), file) },
                "storage_elements" => s with { Ingest = s.Ingest with { StorageElements = StorageElements(value, file) } },
                "ingest" => s with { Ingest = Ingest(s.Ingest, Map(value, file, at), file) },
                _ => throw Error(file, keyNode, $"server: unknown key '{key}' (known: listen, auth, uploads, cors, limits, storage_elements, ingest)"),
            };
        }
        return s;
    }

    private static ServerAuthConfig ServerAuth(YamlNode node, string file)
    {
        if (node is YamlScalarNode { Value: "none" }) return new ServerAuthConfig { None = true };
        if (node is not YamlMappingNode map) throw Error(file, node, "server.auth: give 'none' or a 'jwt:' mapping");
        var jwt = Only(map, file, "server.auth", "jwt", v => Map(v, file, "server.auth.jwt"));
        var auth = new ServerAuthConfig();
        foreach (var (keyNode, value) in jwt.Children)
        {
            var key = Key(keyNode, file);
            var at = $"server.auth.jwt.{key}";
            auth = key switch
            {
                "hs256_secret" => auth with { Hs256Secret = Scalar(value, file, at) },
                "rs256_public_key_file" => auth with { Rs256PublicKeyFile = Scalar(value, file, at) },
                "issuer" => auth with { Issuer = Scalar(value, file, at) },
                "audience" => auth with { Audience = Scalar(value, file, at) },
                _ => throw Error(file, keyNode, $"server.auth.jwt: unknown key '{key}' (known: hs256_secret, rs256_public_key_file, issuer, audience)"),
            };
        }
        if ((auth.Hs256Secret is null) == (auth.Rs256PublicKeyFile is null))
            throw Error(file, jwt, "server.auth.jwt: give exactly one of hs256_secret and rs256_public_key_file");
        if (auth.Hs256Secret is { Length: < 32 })
            throw Error(file, jwt, "server.auth.jwt.hs256_secret: use at least 32 characters (HS256 needs a 256-bit key)");
        return auth;
    }

    private static ServerUploadsConfig ServerUploads(YamlMappingNode node, string file)
    {
        var s = new ServerUploadsConfig();
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Key(keyNode, file);
            var at = $"server.uploads.{key}";
            s = key switch
            {
                "destination" => s with { Destination = Scalar(value, file, at) },
                "staging" => s with { Staging = Scalar(value, file, at) },
                "max_size" => s with { MaxSize = Size(value, file, at) },
                "expiration" => s with { Expiration = Duration(value, file, at) },
                "md5" => s with { Md5 = Bool(value, file, at) },
                _ => throw Error(file, keyNode, $"server.uploads: unknown key '{key}' (known: destination, staging, max_size, expiration, md5)"),
            };
        }
        return s;
    }

    private static ServerLimitsConfig ServerLimits(YamlMappingNode node, string file)
    {
        var s = new ServerLimitsConfig();
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Key(keyNode, file);
            var at = $"server.limits.{key}";
            s = key switch
            {
                "max_header_size" => s with { MaxHeaderSize = Size(value, file, at) },
                "requests_per_minute" => s with { RequestsPerMinute = Int(value, file, at, 1, 1_000_000) },
                "min_body_rate" => s with { MinBodyRate = Size(value, file, at) },
                "header_timeout" => s with { HeaderTimeout = Duration(value, file, at) },
                _ => throw Error(file, keyNode, $"server.limits: unknown key '{key}' (known: max_header_size, requests_per_minute, min_body_rate, header_timeout)"),
            };
        }
        return s;
    }

    /// <summary>The value of a mapping that must hold exactly <paramref name="only"/>.</summary>
    private static T Only<T>(YamlMappingNode node, string file, string where, string only, Func<YamlNode, T> read)
    {
        foreach (var (keyNode, _) in node.Children)
            if (Key(keyNode, file) is var k && k != only) throw Error(file, keyNode, $"{where}: unknown key '{k}' (known: {only})");
        return node.Children.TryGetValue(new YamlScalarNode(only), out var value)
            ? read(value)
            : throw Error(file, node, $"{where}: '{only}' is missing");
    }

    /// <summary>A duration with a unit: 90s, 30m, 24h, 7d.</summary>
    private static TimeSpan Duration(YamlNode node, string file, string where)
    {
        var text = Scalar(node, file, where);
        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }
        throw Error(file, node, $"{where}: '{text}' is not a duration (examples: 90s, 30m, 24h, 7d)");
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

    /// <summary>The config text with the values of secret-looking keys (secret, password, token, private key), and
    /// every value under a `headers:` map (a custom auth header is a secret whatever its name), replaced by ***: what
    /// is stored with each session, where others may read it.</summary>
    public static string Redact(string text) => RedactHeaderMaps(SecretLine().Replace(text, "$1\"***\""));

    /// <summary>Masks the values of the lines indented under a `headers:` key, and a `headers:` written on one line.</summary>
    private static string RedactHeaderMaps(string text)
    {
        var lines = text.Split('\n');
        var under = -1;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var indent = line.Length - line.TrimStart().Length;
            var content = line.Trim();
            if (under >= 0)
            {
                if (content.Length == 0 || content.StartsWith('#')) continue;
                if (indent > under)
                {
                    lines[i] = HeaderEntry().Replace(line, "$1\"***\"");
                    continue;
                }
                under = -1;
            }
            var match = HeadersKey().Match(line);
            if (!match.Success) continue;
            if (match.Groups[2].Value.Trim() is { Length: > 0 } rest && !rest.StartsWith('#')) lines[i] = match.Groups[1].Value + "\"***\"";
            else under = indent;
        }
        return string.Join('\n', lines);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\s*-?\s*headers\s*:\s*)(.*)$")]
    private static partial System.Text.RegularExpressions.Regex HeadersKey();

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\s*-?\s*[^:#\s][^:#]*:\s*)(?!\s*$).+$")]
    private static partial System.Text.RegularExpressions.Regex HeaderEntry();

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
