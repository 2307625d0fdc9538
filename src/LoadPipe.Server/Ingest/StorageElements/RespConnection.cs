// The Redis protocol (RESP2, https://redis.io/docs/latest/develop/reference/protocol-spec/), written here by hand for
// the few commands discovery needs (AUTH, SUBSCRIBE, and PUBLISH for tests): a subscriber is one TCP connection that
// sends arrays of bulk strings and reads typed replies. StackExchange.Redis is served, but it was not checked to build
// without AOT/trim warnings in the native `lp` (warnings are errors there), and this much protocol does not need it.
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using LoadPipe.Core.Errors;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>Where Redis listens, from a redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] URL. The password is never shown.</summary>
public sealed record RedisAddress(string Host, int Port, string? User, string? Password)
{
    public const int DefaultPort = 6379;

    public static RedisAddress Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "redis" || uri.Host.Length == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"'{Core.Locations.Location.RedactUrls(url)}' is not a redis://HOST[:PORT][/DB] URL");
        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[..colon]) is { Length: > 0 } u ? u : null;
            password = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[(colon + 1)..]);
        }
        return new RedisAddress(uri.Host.Trim('[', ']'), uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port, user, password);
    }

    public override string ToString() => $"{Host}:{Port}";
}

/// <summary>A Redis error reply ("-ERR ...", "-NOAUTH ...").</summary>
public sealed class RedisErrorException(string message) : Exception(message);

/// <summary>One connection to Redis speaking RESP2: commands as arrays of bulk strings; replies as string (simple or
/// bulk), long (integer), null, <see cref="RedisErrorException"/> (error) or object?[] (array).</summary>
public sealed class RespConnection : IAsyncDisposable
{
    private const int MaxBulk = 64 << 20;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[16 << 10];
    private int _start;
    private int _end;

    private RespConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects (and signs in with AUTH when the address has a password).</summary>
    public static async Task<RespConnection> ConnectAsync(RedisAddress address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                limit.CancelAfter(timeout);
                await tcp.ConnectAsync(address.Host, address.Port, limit.Token).ConfigureAwait(false);
            }
            var connection = new RespConnection(tcp);
            if (address.Password is { } password)
            {
                var reply = await connection.CommandAsync(address.User is { } user ? ["AUTH", user, password] : ["AUTH", password], cancellationToken).ConfigureAwait(false);
                if (reply is RedisErrorException error) throw error;
            }
            return connection;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Sends a command and reads its reply (an error reply is returned, not thrown).</summary>
    public async Task<object?> CommandAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        await SendAsync(args, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SendAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var command = new StringBuilder();
        command.Append('*').Append(args.Count).Append("\r\n");
        foreach (var arg in args) command.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(command.ToString()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one reply; <see cref="EndOfStreamException"/> when Redis closed the connection.</summary>
    public async Task<object?> ReadAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        if (line.Length == 0) throw new InvalidDataException("Redis sent an empty line");
        var rest = line[1..];
        switch (line[0])
        {
            case '+': return rest;
            case '-': return new RedisErrorException(rest);
            case ':': return Number(rest);
            case '$':
            {
                var length = Number(rest);
                if (length < 0) return null;
                if (length > MaxBulk) throw new InvalidDataException($"Redis sent a bulk string of {length} bytes");
                var bytes = await ReadExactAsync((int)length + 2, cancellationToken).ConfigureAwait(false);
                return Encoding.UTF8.GetString(bytes, 0, (int)length);
            }
            case '*':
            {
                var count = Number(rest);
                if (count < 0) return null;
                var items = new object?[count];
                for (var i = 0; i < count; i++) items[i] = await ReadAsync(cancellationToken).ConfigureAwait(false);
                return items;
            }
            default: throw new InvalidDataException($"Redis sent an unknown reply type '{line[0]}'");
        }
    }

    private static long Number(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : throw new InvalidDataException($"Redis sent '{text}' for a number");

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end) await FillAsync(cancellationToken).ConfigureAwait(false);
            var span = _buffer.AsSpan(_start, _end - _start);
            var lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                line.AddRange(span[..lf]);
                _start += lf + 1;
                if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                return Encoding.UTF8.GetString([.. line]);
            }
            line.AddRange(span);
            _start = _end;
            if (line.Count > 64 << 10) throw new InvalidDataException("Redis sent a line longer than 64 KiB");
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        var bytes = new byte[count];
        var have = 0;
        while (have < count)
        {
            if (_start == _end) await FillAsync(cancellationToken).ConfigureAwait(false);
            var n = Math.Min(count - have, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(bytes.AsSpan(have));
            _start += n;
            have += n;
        }
        return bytes;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        if (_end == 0) throw new EndOfStreamException("Redis closed the connection");
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
