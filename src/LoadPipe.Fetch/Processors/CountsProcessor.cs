using System.Text.Json.Nodes;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.Processors;

/// <summary>`counts`: lines, words and bytes, as `wc` counts them (a line is a newline; a word is a run of bytes that
/// are not ASCII white space), computed as the bytes stream.</summary>
public sealed class CountsProcessor : IFileProcessor
{
    public string Name => "counts";

    public bool NeedsPath => false;

    public async ValueTask<JsonNode?> ProcessAsync(FileData file, CancellationToken cancellationToken = default)
    {
        long lines = 0, words = 0, bytes = 0;
        var inWord = false;
        var buffer = new byte[1 << 16];
        var stream = file.OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                bytes += n;
                var span = buffer.AsSpan(0, n);
                lines += span.Count((byte)'\n');
                foreach (var b in span)
                {
                    var space = b is (byte)' ' or (byte)'\n' or (byte)'\t' or (byte)'\r' or 0x0B or 0x0C;
                    if (!space && !inWord) words++;
                    inWord = !space;
                }
            }
        }
        return new JsonObject { ["lines"] = lines, ["words"] = words, ["bytes"] = bytes };
    }
}
