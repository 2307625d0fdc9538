using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Fetch.Serialization;

namespace LoadPipe.Fetch.Input;

/// <summary>The shapes a fetch list may take; <see cref="FetchListReader.Detect"/> tells them apart by their first character.</summary>
public enum FetchListFormat
{
    /// <summary>Seed 002's format: one JSON array of <c>{id?, name?, url}</c> objects.</summary>
    JsonArray,

    /// <summary>One JSON object per line.</summary>
    JsonLines,

    /// <summary>One URL per line; blank lines and lines starting with # are left out.</summary>
    Lines,
}

/// <summary>
/// Reads a fetch list as a stream of entries, never holding the whole list: a JSON array is read element by element
/// with <see cref="Utf8JsonReader"/> over a buffer that holds one element at a time, so a list of ten million URLs
/// takes the memory of one. A JSON syntax error in an array stops the list (what follows cannot be trusted) with a
/// usage error naming the line; a well-formed entry without a usable url is returned with its
/// <see cref="FetchEntry.Error"/>.
/// </summary>
public static class FetchListReader
{
    /// <summary>Largest single entry (one element of the array, one line): larger is not a URL entry.</summary>
    public const int MaxEntryBytes = 1 << 20;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The format of a list that starts with <paramref name="first"/> (its first byte that is not white space).</summary>
    public static FetchListFormat Detect(byte first) => first switch
    {
        (byte)'[' => FetchListFormat.JsonArray,
        (byte)'{' => FetchListFormat.JsonLines,
        _ => FetchListFormat.Lines,
    };

    /// <param name="listName">The list in messages ("files.json", "stdin").</param>
    public static async IAsyncEnumerable<FetchEntry> ReadAsync(Stream input, string listName,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var head = new byte[64 << 10];
        var filled = 0;
        int first;
        // The first significant byte decides the format; a BOM and white space come before it.
        while (true)
        {
            first = FirstSignificant(head.AsSpan(0, filled));
            if (first >= 0 || filled == head.Length) break;
            var n = await input.ReadAsync(head.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            filled += n;
        }
        if (first < 0) yield break;
        var format = Detect(head[first]);
        var rest = new PrefixedStream(head.AsMemory(0, filled), input);
        var entries = format == FetchListFormat.JsonArray
            ? ReadArrayAsync(rest, listName, cancellationToken)
            : ReadLinesAsync(rest, format, listName, cancellationToken);
        await foreach (var entry in entries.ConfigureAwait(false)) yield return entry;
    }

    private static int FirstSignificant(ReadOnlySpan<byte> bytes)
    {
        var start = bytes.StartsWith("\uFEFF"u8) ? 3 : 0;
        for (var i = start; i < bytes.Length; i++)
            if (bytes[i] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return i;
        return -1;
    }

    private static async IAsyncEnumerable<FetchEntry> ReadLinesAsync(Stream input, FetchListFormat format, string listName,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 << 10);
        long line = 0, index = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            var trimmed = text.Trim();
            if (trimmed.Length == 0 || (format == FetchListFormat.Lines && trimmed.StartsWith('#'))) continue;
            if (format == FetchListFormat.Lines)
            {
                yield return Checked(new FetchEntry(index++, line, null, null, trimmed), listName);
                continue;
            }
            FetchEntry entry;
            if (text.Length > MaxEntryBytes)
                entry = new FetchEntry(index, line, null, null, null, $"{listName} line {line}: entry {index + 1} is longer than {MaxEntryBytes} bytes");
            else
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(trimmed);
                entry = NotJson(bytes) is { } error
                    ? new FetchEntry(index, line, null, null, null, $"{listName} line {line}: entry {index + 1} is not JSON ({FirstLine(error)})")
                    : FromElement(bytes, index, line, listName);
            }
            index++;
            yield return entry;
        }
    }

    private static async IAsyncEnumerable<FetchEntry> ReadArrayAsync(Stream input, string listName,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cursor = new ArrayCursor(listName);
        var buffer = new byte[64 << 10];
        int filled = 0;
        var final = false;
        while (true)
        {
            if (!final && filled < buffer.Length)
            {
                var n = await input.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (n == 0) final = true;
                filled += n;
            }
            var (entries, consumed) = cursor.Advance(buffer.AsMemory(0, filled), final);
            foreach (var entry in entries) yield return entry;
            if (cursor.Done) yield break;
            if (final)
                throw new LoadPipeException(ErrorKind.Usage, $"{listName} line {cursor.Line}: the JSON array does not end (no closing ']')");
            // Keep what is not consumed yet (part of an element) at the front; grow when one element fills the buffer.
            buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
            filled -= consumed;
            if (filled == buffer.Length)
            {
                if (buffer.Length >= MaxEntryBytes)
                    throw new LoadPipeException(ErrorKind.Usage, $"{listName} line {cursor.Line}: an entry is longer than {MaxEntryBytes} bytes");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
        }
    }

    /// <summary>The reader's state between two buffers of an array: kept in a class because a <see cref="Utf8JsonReader"/>
    /// cannot live across an await.</summary>
    private sealed class ArrayCursor(string listName)
    {
        private JsonReaderState _state = new(ReaderOptions);
        private bool _started;
        private long _index;
        private int _counted;

        /// <summary>The line at the start of the bytes not consumed yet.</summary>
        public long Line { get; private set; } = 1;

        public bool Done { get; private set; }

        public (List<FetchEntry> Entries, int Consumed) Advance(ReadOnlyMemory<byte> data, bool final)
        {
            var entries = new List<FetchEntry>();
            var reader = new Utf8JsonReader(data.Span, final, _state);
            var consumed = 0;
            try
            {
                while (true)
                {
                    var before = reader;
                    if (!reader.Read()) break;
                    if (!_started)
                    {
                        if (reader.TokenType != JsonTokenType.StartArray)
                            throw new LoadPipeException(ErrorKind.Usage, $"{listName} line {Line}: a JSON list must be an array of {{\"url\": ...}} objects");
                        _started = true;
                    }
                    else if (reader.CurrentDepth == 0 && reader.TokenType == JsonTokenType.EndArray)
                    {
                        Done = true;
                    }
                    else
                    {
                        var start = (int)reader.TokenStartIndex;
                        CountLines(data.Span, start);
                        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
                        {
                            // The element goes on in the next buffer: read it again from its start then.
                            reader = before;
                            break;
                        }
                        var element = data[start..(int)reader.BytesConsumed];
                        entries.Add(FromElement(element.Span, _index++, Line, listName));
                    }
                    consumed = (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    if (Done) break;
                }
            }
            catch (JsonException e)
            {
                // The reader's state carries its line count from buffer to buffer: e.LineNumber is the list's, from 0.
                var line = e.LineNumber is { } n ? n + 1 : Line;
                throw new LoadPipeException(ErrorKind.Usage, $"{listName} line {line}: not valid JSON ({FirstLine(e.Message)})");
            }
            CountLines(data.Span, consumed);
            _counted -= consumed;
            return (entries, consumed);
        }

        private void CountLines(ReadOnlySpan<byte> data, int upTo)
        {
            if (upTo <= _counted) return;
            Line += data[_counted..upTo].Count((byte)'\n');
            _counted = upTo;
        }
    }

    /// <summary>Null when <paramref name="json"/> is one valid JSON value, else the parser's message.</summary>
    private static string? NotJson(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            while (reader.Read()) { }
            return null;
        }
        catch (JsonException e)
        {
            return e.Message;
        }
    }

    /// <summary>An entry from one valid JSON value (<see cref="ListItem"/>, through the compiled context).</summary>
    private static FetchEntry FromElement(ReadOnlySpan<byte> json, long index, long line, string listName)
    {
        string Where() => $"{listName} line {line}: entry {index + 1}";
        ListItem? item;
        try
        {
            item = JsonSerializer.Deserialize(json, FetchJson.Default.ListItem);
        }
        catch (JsonException)
        {
            item = null; // valid JSON, but not an object
        }
        if (item is null)
            return new FetchEntry(index, line, null, null, null, $"{Where()} is not an object {{\"url\": ...}}");
        string? id = null, name = null, url = null;
        if (item.Id is { ValueKind: not JsonValueKind.Undefined } idValue)
        {
            id = idValue.ValueKind switch
            {
                JsonValueKind.String => idValue.GetString(),
                JsonValueKind.Number => idValue.GetRawText(),
                JsonValueKind.Null => null,
                _ => null,
            };
            if (idValue.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.Null))
                return new FetchEntry(index, line, null, null, null, $"{Where()}: 'id' must be a string or a number");
        }
        if (item.Name.ValueKind == JsonValueKind.String) name = item.Name.GetString();
        if (item.Url is { ValueKind: not JsonValueKind.Undefined } urlValue)
        {
            if (urlValue.ValueKind != JsonValueKind.String)
                return new FetchEntry(index, line, id, name, null, $"{Where()}{(id is null ? "" : $" (id {id})")}: 'url' must be a string");
            url = urlValue.GetString();
        }
        return Checked(new FetchEntry(index, line, id, name, url), listName);
    }

    /// <summary>The entry, or the entry with its error when its url is missing or not an absolute http(s) URL.</summary>
    private static FetchEntry Checked(FetchEntry entry, string listName)
    {
        var where = $"{listName} line {entry.Line.ToString(CultureInfo.InvariantCulture)}: {entry.Label}";
        if (string.IsNullOrWhiteSpace(entry.Url)) return entry with { Error = $"{where} has no 'url'" };
        if (!Uri.TryCreate(entry.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return entry with { Error = $"{where}: '{Core.Locations.Location.Redact(Truncate(entry.Url))}' is not an http(s) URL" };
        return entry;
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "...";

    /// <summary>The first line of a JSON error, without the position the message already gives as "line N".</summary>
    private static string FirstLine(string message)
    {
        var first = message.Split('\n')[0];
        var position = first.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (position < 0 ? first : first[..position]).Trim();
    }

    /// <summary>The bytes read to detect the format, then the rest of the input.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Core.Streams.ReadOnlyStream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty) return rest.Read(buffer);
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _prefix.IsEmpty ? rest.ReadAsync(buffer, cancellationToken) : ValueTask.FromResult(Read(buffer.Span));
    }
}
