using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LoadPipe.Fetch.Serialization;

/// <summary>One entry of a JSON list (seed 002's <c>{id?, name?, url}</c>) as written: each field kept as the JSON value
/// it is (absent: <see cref="JsonValueKind.Undefined"/>), so that a field of the wrong type is named in the entry's error.</summary>
internal sealed record ListItem
{
    [JsonPropertyName("id")] public JsonElement Id { get; init; }
    [JsonPropertyName("name")] public JsonElement Name { get; init; }
    [JsonPropertyName("url")] public JsonElement Url { get; init; }
}

/// <summary>One result (docs/fetch.md): id, name, url and status always (null when absent), then what applies. Each
/// processor's result goes under its name (<see cref="Results"/>).</summary>
internal sealed record ResultLine
{
    [JsonPropertyName("id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? Id { get; init; }
    [JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? Name { get; init; }
    [JsonPropertyName("url"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? Url { get; init; }
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("size")] public long? Size { get; init; }
    [JsonPropertyName("saved_as")] public string? SavedAs { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("stage")] public string? Stage { get; init; }
    [JsonPropertyName("line")] public long? Line { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Results { get; set; }
}

/// <summary>A plugin's request for one file (docs/plugins.md).</summary>
internal sealed record PluginRequest
{
    [JsonPropertyName("protocol")] public required int Protocol { get; init; }
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? Id { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("url")] public required string Url { get; init; }
    [JsonPropertyName("path")] public string? Path { get; init; }
    [JsonPropertyName("size")] public required long Size { get; init; }
    [JsonPropertyName("hashes")] public required IReadOnlyDictionary<string, string> Hashes { get; init; }
}

/// <summary>A plugin's answer: a result, or an error (a string, or any JSON value shown as it is).</summary>
internal sealed record PluginResponse
{
    [JsonPropertyName("result")] public JsonNode? Result { get; init; }
    [JsonPropertyName("error")] public JsonNode? Error { get; init; }
}

/// <summary>Compiled JSON for what lp fetch reads and writes as objects: no reflection at run time (lp is compiled ahead
/// of time). The list's array itself is streamed element by element with <see cref="Utf8JsonReader"/>.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ListItem))]
[JsonSerializable(typeof(ResultLine))]
[JsonSerializable(typeof(PluginRequest))]
[JsonSerializable(typeof(PluginResponse))]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class FetchJson : JsonSerializerContext;
