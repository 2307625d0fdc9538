using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.PostProcessors;

/// <summary>
/// `csv:FILE`: a header, then one row per entry (RFC 4180 quoting): id, name, url, status, size, error, then one column
/// per processor, named by the processor; a result that is not a string or a number is written as compact JSON.
/// </summary>
public sealed class CsvPostProcessor : IPostProcessor
{
    private readonly StreamWriter _writer;
    private readonly IReadOnlyList<string> _processors;

    public CsvPostProcessor(string path, IReadOnlyList<string> processorNames)
    {
        _processors = processorNames;
        _writer = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16, FileOptions.Asynchronous), new UTF8Encoding(false))
        {
            NewLine = "\r\n",
        };
        _writer.WriteLine(string.Join(',', new[] { "id", "name", "url", "status", "size", "error" }.Concat(processorNames).Select(Quote)));
    }

    public async ValueTask PostProcessAsync(FetchResult result, CancellationToken cancellationToken = default)
    {
        var cells = new List<string?>
        {
            result.Id, result.Name, result.Url, result.Status,
            result.Size >= 0 ? result.Size.ToString(CultureInfo.InvariantCulture) : "", result.Error,
        };
        foreach (var name in _processors)
            cells.Add(result.Results.TryGetValue(name, out var value) ? Text(value) : "");
        await _writer.WriteLineAsync(string.Join(',', cells.Select(c => Quote(c ?? ""))).AsMemory(), cancellationToken).ConfigureAwait(false);
    }

    private static string Text(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(),
    };

    private static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") < 0 ? cell : "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default) =>
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
