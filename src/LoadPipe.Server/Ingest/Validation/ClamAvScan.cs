// clamd's INSTREAM protocol, written here by hand: no ClamAV client library is among the packages this project may
// use (docs/ingest.md, "Validation"), and the protocol is three messages over one TCP connection (clamd(8),
// "INSTREAM"): the command "zINSTREAM\0" (the "z" asks for \0-terminated replies), then the file as chunks, each a
// 4-byte big-endian length and that many bytes, then a chunk of length 0. clamd answers one line: "stream: OK",
// "stream: NAME FOUND", or "... ERROR" (for example "INSTREAM size limit exceeded. ERROR" past its StreamMaxLength,
// after which it closes the connection).
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace LoadPipe.Server.Ingest.Validation;

/// <summary>Where clamd listens and how the ingest API uses it (`server.ingest.clamav`, docs/ingest.md).</summary>
/// <param name="Timeout">The longest wait for clamd: to connect, to take one chunk, to give its verdict.</param>
/// <param name="FailOpen">true: a scanner that cannot be reached or fails lets files through unscanned (with a warning).</param>
public sealed record ClamAvSettings(string Host, int Port, TimeSpan Timeout, bool FailOpen);

/// <summary>clamd could not scan: not reachable, too slow, closed the connection, or answered an error.</summary>
public sealed class ClamAvException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>clamd's answer for one stream: clean, or the name of what it found.</summary>
public readonly record struct ClamAvVerdict(string? Found)
{
    public bool Clean => Found is null;
}

/// <summary>
/// One INSTREAM scan: opened before the file's first byte, fed each chunk as it passes on its way to the store, and
/// asked for the verdict at the end. Nothing is held beyond the chunk being sent.
/// </summary>
public sealed class ClamAvScan : IAsyncDisposable
{
    private static readonly byte[] Command = "zINSTREAM\0"u8.ToArray();

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly ClamAvSettings _settings;
    private readonly byte[] _length = new byte[4];
    private ClamAvException? _failure;

    private ClamAvScan(TcpClient tcp, ClamAvSettings settings)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _settings = settings;
    }

    /// <summary>Connects to clamd and starts a scan; <see cref="ClamAvException"/> when clamd cannot be reached in time.</summary>
    public static async Task<ClamAvScan> StartAsync(ClamAvSettings settings, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await WithTimeoutAsync(settings, ct => tcp.ConnectAsync(settings.Host, settings.Port, ct), "connect", cancellationToken).ConfigureAwait(false);
            var scan = new ClamAvScan(tcp, settings);
            await WithTimeoutAsync(settings, ct => scan._stream.WriteAsync(Command, ct), "take the command", cancellationToken).ConfigureAwait(false);
            return scan;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Sends one chunk of the file. A failure (clamd closed the connection past its size limit, or was too
    /// slow) is kept for <see cref="FinishAsync"/> and the rest of the file is not sent; only the request's own
    /// cancellation is thrown here.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        if (chunk.IsEmpty || _failure is not null) return;
        BinaryPrimitives.WriteUInt32BigEndian(_length, (uint)chunk.Length);
        try
        {
            await WithTimeoutAsync(_settings, async ct =>
            {
                await _stream.WriteAsync(_length, ct).ConfigureAwait(false);
                await _stream.WriteAsync(chunk, ct).ConfigureAwait(false);
            }, "take a chunk", cancellationToken).ConfigureAwait(false);
        }
        catch (ClamAvException e)
        {
            _failure = e;
        }
    }

    /// <summary>Ends the stream and returns clamd's verdict; <see cref="ClamAvException"/> when it answers an error or
    /// nothing, or a chunk could not be sent.</summary>
    public async Task<ClamAvVerdict> FinishAsync(CancellationToken cancellationToken)
    {
        if (_failure is null)
        {
            try
            {
                await WithTimeoutAsync(_settings, ct => _stream.WriteAsync(new byte[4], ct), "take the end of the stream", cancellationToken).ConfigureAwait(false);
            }
            catch (ClamAvException e)
            {
                _failure = e;
            }
        }
        string reply;
        try
        {
            reply = await WithTimeoutAsync(_settings, ReadReplyAsync, "give its verdict", cancellationToken).ConfigureAwait(false);
        }
        catch (ClamAvException) when (_failure is not null)
        {
            throw _failure;
        }
        // After a failed send, clamd's own reply (a size limit, say) tells more than the broken pipe.
        if (reply.Length == 0 && _failure is not null) throw _failure;
        var verdict = Parse(reply);
        return _failure is null || !verdict.Clean ? verdict : throw _failure;
    }

    /// <summary>"stream: OK" is clean; "stream: NAME FOUND" names what was found; anything else is an error.</summary>
    public static ClamAvVerdict Parse(string reply)
    {
        var line = reply.TrimEnd('\0', '\n', '\r', ' ');
        var body = line.StartsWith("stream: ", StringComparison.Ordinal) ? line["stream: ".Length..] : line;
        if (body == "OK") return new ClamAvVerdict(null);
        if (body.EndsWith(" FOUND", StringComparison.Ordinal) && body.Length > " FOUND".Length) return new ClamAvVerdict(body[..^" FOUND".Length]);
        throw new ClamAvException(line.Length == 0 ? "clamd closed the connection without a verdict" : $"clamd answered '{Trim(line)}'");
    }

    private async ValueTask<string> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var reply = new List<byte>();
        var buffer = new byte[256];
        while (reply.Count < 4096)
        {
            var n = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            var end = Array.IndexOf(buffer, (byte)0, 0, n);
            reply.AddRange(buffer.AsSpan(0, end >= 0 ? end : n));
            if (end >= 0) break;
        }
        return Encoding.UTF8.GetString([.. reply]);
    }

    private static string Trim(string text) => text.Length > 200 ? text[..200] + "..." : text;

    private static async Task WithTimeoutAsync(ClamAvSettings settings, Func<CancellationToken, ValueTask> call, string what, CancellationToken cancellationToken) =>
        await WithTimeoutAsync(settings, async ct =>
        {
            await call(ct).ConfigureAwait(false);
            return true;
        }, what, cancellationToken).ConfigureAwait(false);

    /// <summary>Runs one exchange with clamd within the timeout. A timeout, a refused connection or a broken one becomes
    /// <see cref="ClamAvException"/>; the request's own cancellation stays itself.</summary>
    private static async Task<T> WithTimeoutAsync<T>(ClamAvSettings settings, Func<CancellationToken, ValueTask<T>> call, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.Timeout);
        try
        {
            return await call(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClamAvException($"clamd at {settings.Host}:{settings.Port} did not {what} within {settings.Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw new ClamAvException($"clamd at {settings.Host}:{settings.Port} could not {what}: {e.Message}", e);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A read-only wrapper that hands each chunk it reads to a clamd scan before passing it on, so the file is
/// scanned in the same pass that stores it. <paramref name="atEnd"/> (the verdict) runs once the source ends, before
/// that end is passed on: a file it refuses fails its last read, so the store never completes it.</summary>
public sealed class ScanningStream(Stream source, ClamAvScan scan, Func<CancellationToken, Task>? atEnd = null) : ForwardReadStream
{
    private bool _ended;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (n > 0) await scan.SendAsync(buffer[..n], cancellationToken).ConfigureAwait(false);
        else if (!_ended && atEnd is not null)
        {
            _ended = true;
            await atEnd(cancellationToken).ConfigureAwait(false);
        }
        return n;
    }
}
