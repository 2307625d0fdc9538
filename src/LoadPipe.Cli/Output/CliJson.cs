using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadPipe.Cli.Output;

/// <summary>
/// The JSON lines lp prints (--json): objects of names and plain values, serialized with compiled metadata rather than
/// reflection, as lp is compiled ahead of time. A value's runtime type must be one listed on <see cref="CliJsonContext"/>;
/// other read-only dictionaries and sequences of strings are copied into listed ones first.
/// </summary>
internal static class CliJson
{
    public static string Line(Dictionary<string, object?> obj)
    {
        foreach (var (key, value) in obj)
        {
            switch (value)
            {
                case null or string or int or long or double or bool or Dictionary<string, string> or Dictionary<string, string?>
                    or string[] or List<string> or List<Dictionary<string, string?>> or Dictionary<string, object?> or List<Dictionary<string, object?>>:
                    break;
                case IReadOnlyDictionary<string, string> map:
                    obj[key] = map.ToDictionary(p => p.Key, p => p.Value);
                    break;
                case IEnumerable<string> items:
                    obj[key] = items.ToArray();
                    break;
                default:
                    throw new InvalidOperationException($"JSON field '{key}' has a type lp cannot print: {value.GetType()}");
            }
        }
        return JsonSerializer.Serialize(obj, CliJsonContext.Default.DictionaryStringObject);
    }
}

[JsonSerializable(typeof(Dictionary<string, object?>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string?>))]
[JsonSerializable(typeof(List<Dictionary<string, string?>>))]
[JsonSerializable(typeof(List<Dictionary<string, object?>>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(bool))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
