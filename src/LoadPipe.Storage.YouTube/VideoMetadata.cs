using System.Text.Json;
using System.Text.Json.Nodes;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// A video's snippet and status as videos.insert takes them (https://developers.google.com/youtube/v3/docs/videos):
/// <c>{"snippet":{"title","description","tags":[...],"categoryId"},"status":{"privacyStatus"}}</c>. It comes from
/// `--meta FILE.json` (the same shape) and the flags over it, travels to the sink as one JSON text in
/// <see cref="Core.Storage.WriteRequest.Metadata"/> under <see cref="MetadataKey"/>, and is checked on the way in so
/// that a mistake is one clear line before any upload, not a 400 from Google after the quota is spent.
/// </summary>
public sealed class VideoMetadata
{
    /// <summary>The <see cref="Core.Storage.WriteRequest.Metadata"/> name the sink reads.</summary>
    public const string MetadataKey = "youtube.video";

    public const string DefaultPrivacy = "private";

    private static readonly HashSet<string> SnippetFields = ["title", "description", "tags", "categoryId", "defaultLanguage", "defaultAudioLanguage"];
    private static readonly HashSet<string> StatusFields = ["privacyStatus", "embeddable", "license", "publicStatsViewable", "publishAt", "selfDeclaredMadeForKids", "containsSyntheticMedia"];
    private static readonly HashSet<string> Privacies = ["private", "unlisted", "public"];

    private readonly JsonObject _snippet;
    private readonly JsonObject _status;

    private VideoMetadata(JsonObject snippet, JsonObject status)
    {
        _snippet = snippet;
        _status = status;
    }

    public static VideoMetadata Empty => new([], []);

    public string? Title => (string?)_snippet["title"];
    public string? Description => (string?)_snippet["description"];
    public IReadOnlyList<string> Tags => _snippet["tags"] is JsonArray a ? a.Select(t => (string)t!).ToList() : [];
    public string? CategoryId => (string?)_snippet["categoryId"];
    public string Privacy => (string?)_status["privacyStatus"] ?? DefaultPrivacy;

    /// <summary>Reads a --meta file. Throws a <see cref="ErrorKind.Usage"/> error naming the file and the field.</summary>
    public static VideoMetadata Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"--meta {path}: cannot read it ({e.Message})");
        }
        return Parse(text, "--meta " + path);
    }

    /// <summary>Parses and checks the resource JSON; <paramref name="origin"/> starts every error message.</summary>
    public static VideoMetadata Parse(string json, string origin)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw Bad(origin, $"not valid JSON (line {e.LineNumber + 1}: {e.Message.Split('.')[0]})");
        }
        if (root is not JsonObject obj) throw Bad(origin, "must be a JSON object like {\"snippet\":{\"title\":\"...\"},\"status\":{\"privacyStatus\":\"private\"}}");
        foreach (var (name, _) in obj)
            if (name is not ("snippet" or "status"))
                throw Bad(origin, $"'{name}' is not sent: only snippet and status are (a video resource's parts for videos.insert)");
        var snippet = Part(obj, "snippet", SnippetFields, origin);
        var status = Part(obj, "status", StatusFields, origin);
        var metadata = new VideoMetadata(snippet, status);
        metadata.Check(origin);
        return metadata;
    }

    /// <summary>This metadata with the flags that were given put over it.</summary>
    public VideoMetadata With(string? title = null, string? description = null, IReadOnlyList<string>? tags = null,
        string? categoryId = null, string? privacy = null)
    {
        var snippet = (JsonObject)_snippet.DeepClone();
        var status = (JsonObject)_status.DeepClone();
        if (title is not null) snippet["title"] = title;
        if (description is not null) snippet["description"] = description;
        if (tags is not null) snippet["tags"] = new JsonArray([.. tags.Select(t => (JsonNode)JsonValue.Create(t))]);
        if (categoryId is not null) snippet["categoryId"] = categoryId;
        if (privacy is not null) status["privacyStatus"] = privacy;
        var metadata = new VideoMetadata(snippet, status);
        metadata.Check("video flags");
        return metadata;
    }

    /// <summary>The canonical JSON carried to the sink.</summary>
    public string ToJson() => new JsonObject { ["snippet"] = _snippet.DeepClone(), ["status"] = _status.DeepClone() }.ToJsonString();

    /// <summary>The videos.insert body: the title defaults to <paramref name="defaultTitle"/>, the privacy to private.</summary>
    public string InsertBody(string defaultTitle)
    {
        var snippet = (JsonObject)_snippet.DeepClone();
        var status = (JsonObject)_status.DeepClone();
        if (string.IsNullOrWhiteSpace(Title)) snippet["title"] = CleanTitle(defaultTitle);
        status["privacyStatus"] ??= DefaultPrivacy;
        return new JsonObject { ["snippet"] = snippet, ["status"] = status }.ToJsonString();
    }

    /// <summary>A file name made fit for a title: no angle brackets (YouTube refuses them), at most 100 characters.</summary>
    public static string CleanTitle(string name)
    {
        var title = name.Replace('<', '(').Replace('>', ')').Trim();
        if (title.Length == 0) title = "untitled";
        return title.Length <= 100 ? title : title[..100];
    }

    private static JsonObject Part(JsonObject root, string name, HashSet<string> allowed, string origin)
    {
        switch (root[name])
        {
            case null:
                return [];
            case JsonObject part:
                foreach (var (field, _) in part)
                    if (!allowed.Contains(field))
                        throw Bad(origin, $"{name}.{field} is not a field LoadPipe sends (known: {string.Join(", ", allowed)})");
                return (JsonObject)part.DeepClone();
            default:
                throw Bad(origin, $"{name} must be an object");
        }
    }

    /// <summary>YouTube's documented limits: a title of 1 to 100 characters, a description of at most 5000 bytes,
    /// neither with '&lt;' or '&gt;'; tags of at most 500 characters together; a numeric categoryId; a known privacy.</summary>
    private void Check(string origin)
    {
        if (_snippet["title"] is { } titleNode)
        {
            var title = String(titleNode, "snippet.title", origin);
            if (title.Trim().Length == 0 || title.Length > 100) throw Bad(origin, "snippet.title must be 1 to 100 characters");
            if (title.IndexOfAny(['<', '>']) >= 0) throw Bad(origin, "snippet.title may not contain '<' or '>'");
        }
        if (_snippet["description"] is { } descriptionNode)
        {
            var description = String(descriptionNode, "snippet.description", origin);
            if (System.Text.Encoding.UTF8.GetByteCount(description) > 5000) throw Bad(origin, "snippet.description is over 5000 bytes");
            if (description.IndexOfAny(['<', '>']) >= 0) throw Bad(origin, "snippet.description may not contain '<' or '>'");
        }
        if (_snippet["tags"] is { } tagsNode)
        {
            if (tagsNode is not JsonArray tags || tags.Any(t => t is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
                throw Bad(origin, "snippet.tags must be an array of strings");
            // YouTube counts a tag with a space as if quoted (two more characters), and a comma between tags.
            var length = tags.Sum(t => ((string)t!).Length + (((string)t!).Contains(' ') ? 2 : 0)) + Math.Max(0, tags.Count - 1);
            if (length > 500) throw Bad(origin, $"snippet.tags are {length} characters together; YouTube allows 500");
        }
        if (_snippet["categoryId"] is { } categoryNode)
        {
            var category = categoryNode is JsonValue cv && cv.GetValueKind() == JsonValueKind.Number ? cv.ToJsonString() : String(categoryNode, "snippet.categoryId", origin);
            if (category.Length == 0 || !category.All(char.IsAsciiDigit)) throw Bad(origin, $"snippet.categoryId '{category}' must be a number (22 is People & Blogs)");
            _snippet["categoryId"] = category;
        }
        if (_status["privacyStatus"] is { } privacyNode)
        {
            var privacy = String(privacyNode, "status.privacyStatus", origin);
            if (!Privacies.Contains(privacy)) throw Bad(origin, $"status.privacyStatus '{privacy}' must be private, unlisted or public");
        }
    }

    private static string String(JsonNode node, string field, string origin) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? (string)v! : throw Bad(origin, $"{field} must be a string");

    private static LoadPipeException Bad(string origin, string what) => new(ErrorKind.Usage, $"{origin}: {what}");
}
