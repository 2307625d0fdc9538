using System.Text.Json;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.PostProcessors;

/// <summary>`jsonl:FILE`: one line per entry (<see cref="ResultJson"/>), appended as results complete; `jsonl:-` writes
/// them to stdout.</summary>
public sealed class JsonLinesPostProcessor : IPostProcessor
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly Stream _output;
    private readonly Utf8JsonWriter _writer;
    private readonly bool _ownsOutput;

    public JsonLinesPostProcessor(string path)
    {
        _ownsOutput = path != "-";
        _output = _ownsOutput
            ? new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16, FileOptions.Asynchronous)
            : Console.OpenStandardOutput();
        _writer = new Utf8JsonWriter(_output);
    }

    public async ValueTask PostProcessAsync(FetchResult result, CancellationToken cancellationToken = default)
    {
        ResultJson.Write(_writer, result);
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        _writer.Reset();
        await _output.WriteAsync(NewLine, cancellationToken).ConfigureAwait(false);
        // Each line is on disk as its entry completes: `tail -f` follows a run, and a killed run keeps its lines.
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default) =>
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync().ConfigureAwait(false);
        if (_ownsOutput) await _output.DisposeAsync().ConfigureAwait(false);
        else await _output.FlushAsync().ConfigureAwait(false);
    }
}
