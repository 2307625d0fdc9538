using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using LoadPipe.Core.Errors;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.Processors;

/// <summary>
/// `archive`: the entries of a zip (System.IO.Compression) or a tar, plain or gzipped (System.Formats.Tar), as
/// <c>{"format", "entries": [{"name", "size"}], "count"}</c>. Needs the file on disk: a zip's directory is at its end.
/// A file that is neither fails with a message saying so. At most <see cref="MaxListed"/> entries are listed; count is
/// all of them.
/// </summary>
public sealed class ArchiveListProcessor : IFileProcessor
{
    public const int MaxListed = 10_000;

    public string Name => "archive";

    public bool NeedsPath => true;

    public async ValueTask<JsonNode?> ProcessAsync(FileData file, CancellationToken cancellationToken = default)
    {
        var head = new byte[512];
        int filled;
        await using (var probe = file.OpenRead())
            filled = await probe.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var type = ContentTypeProcessor.Detect(head.AsSpan(0, filled));
        return type switch
        {
            "application/zip" => await ZipAsync(file, cancellationToken).ConfigureAwait(false),
            "application/x-tar" => await TarAsync(file, gzipped: false, cancellationToken).ConfigureAwait(false),
            "application/gzip" => await TarAsync(file, gzipped: true, cancellationToken).ConfigureAwait(false),
            _ => throw new LoadPipeException(ErrorKind.Permanent, $"not a zip or tar archive ({type})"),
        };
    }

    private static async Task<JsonNode> ZipAsync(FileData file, CancellationToken cancellationToken)
    {
        var entries = new JsonArray();
        var count = 0;
        var zip = await ZipFile.OpenReadAsync(file.Path!, cancellationToken).ConfigureAwait(false);
        await using (zip.ConfigureAwait(false))
        {
            foreach (var entry in zip.Entries)
            {
                if (count++ < MaxListed) entries.Add((JsonNode)new JsonObject { ["name"] = entry.FullName, ["size"] = entry.Length });
            }
        }
        return new JsonObject { ["format"] = "zip", ["count"] = count, ["entries"] = entries };
    }

    private static async Task<JsonNode> TarAsync(FileData file, bool gzipped, CancellationToken cancellationToken)
    {
        var entries = new JsonArray();
        var count = 0;
        var stream = file.OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            Stream input = gzipped ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : stream;
            try
            {
                var reader = new TarReader(input);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                    {
                        if (entry.EntryType is TarEntryType.Directory) continue;
                        if (count++ < MaxListed) entries.Add((JsonNode)new JsonObject { ["name"] = entry.Name, ["size"] = entry.Length });
                    }
                }
            }
            catch (Exception e) when (e is InvalidDataException or FormatException)
            {
                throw new LoadPipeException(ErrorKind.Permanent, gzipped ? $"not a gzipped tar archive ({e.Message})" : $"not a tar archive ({e.Message})");
            }
            finally
            {
                if (gzipped) await input.DisposeAsync().ConfigureAwait(false);
            }
        }
        return new JsonObject { ["format"] = gzipped ? "tar.gz" : "tar", ["count"] = count, ["entries"] = entries };
    }
}
