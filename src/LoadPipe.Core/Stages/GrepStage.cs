using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.RegularExpressions;
using LoadPipe.Core.Errors;

namespace LoadPipe.Core.Stages;

/// <summary>Keeps the lines that match (or, inverted, do not match) a regular expression. Lines end at '\n';
/// a line longer than <see cref="MaxLineLength"/> is an error rather than unbounded memory.</summary>
public sealed class GrepStage : IStage
{
    public const int MaxLineLength = 16 << 20;
    private readonly Regex _regex;
    private readonly bool _invert;

    public GrepStage(string pattern, bool invert = false)
    {
        _invert = invert;
        Spec = (invert ? "grep-v:" : "grep:") + pattern;
        try
        {
            // Linear-time matching: a hostile pattern cannot hang a transfer.
            _regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException)
        {
            _regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"stage {Spec}: bad regular expression ({e.Message})");
        }
    }

    public string Spec { get; }

    public StageResume Resume => StageResume.Replay;

    public async Task RunAsync(Stream input, Stream output, StageContext context, CancellationToken cancellationToken = default)
    {
        var reader = PipeReader.Create(input, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
        var writer = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        char[] chars = ArrayPool<char>.Shared.Rent(4096);
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (TryReadLine(ref buffer, result.IsCompleted, out var line))
                {
                    if (Matches(line, ref chars) != _invert) Copy(line, writer);
                }
                if (buffer.Length > MaxLineLength)
                    throw new LoadPipeException(ErrorKind.Permanent, $"stage {Spec}: a line is longer than {MaxLineLength} bytes");
                reader.AdvanceTo(buffer.Start, buffer.End);
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (result.IsCompleted) break;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            await reader.CompleteAsync().ConfigureAwait(false);
            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    // A line includes its '\n'; at the end of input the unterminated rest is a line too.
    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, bool completed, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is { } pos)
        {
            var end = buffer.GetPosition(1, pos);
            line = buffer.Slice(0, end);
            buffer = buffer.Slice(end);
            return true;
        }
        if (completed && !buffer.IsEmpty)
        {
            line = buffer;
            buffer = buffer.Slice(buffer.End);
            return true;
        }
        line = default;
        return false;
    }

    private bool Matches(ReadOnlySequence<byte> line, ref char[] chars)
    {
        var count = Encoding.UTF8.GetMaxCharCount((int)line.Length);
        if (chars.Length < count)
        {
            ArrayPool<char>.Shared.Return(chars);
            chars = ArrayPool<char>.Shared.Rent(count);
        }
        var n = Encoding.UTF8.GetChars(line, chars);
        var text = chars.AsSpan(0, n).TrimEnd('\n').TrimEnd('\r');
        return _regex.IsMatch(text);
    }

    private static void Copy(ReadOnlySequence<byte> line, PipeWriter writer)
    {
        foreach (var segment in line) writer.Write(segment.Span);
    }
}
