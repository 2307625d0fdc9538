using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Auth;

/// <summary>
/// The loopback redirect of an installed-app sign-in (RFC 8252 section 7.3): listens on 127.0.0.1 on a free port and
/// waits for the browser to come back to <see cref="RedirectUri"/> with `code` (or `error`) and `state`. A minimal
/// HTTP/1.1 server written here because LoadPipe.Google does not carry ASP.NET Core and HttpListener cannot take port 0:
/// it reads one request head per connection, answers it and closes. Requests for other paths (a favicon) get 404,
/// idle connections (browsers open them speculatively) are dropped after a few seconds, and a redirect whose state is
/// not ours is refused without ending the wait.
/// </summary>
internal sealed class LoopbackRedirectListener : IDisposable
{
    private const int MaxHeadBytes = 16 << 10;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private readonly TcpListener _listener;

    public LoopbackRedirectListener()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        RedirectUri = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
    }

    public string RedirectUri { get; }

    /// <summary>The authorization code of the first redirect carrying <paramref name="state"/>. A redirect with
    /// `error` (the user refused) is an <see cref="ErrorKind.Auth"/> error.</summary>
    public async Task<string> WaitForCodeAsync(string state, CancellationToken cancellationToken)
    {
        var outcome = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var accepting = AcceptAsync(state, outcome, stop.Token);
        try
        {
            return await outcome.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            _listener.Stop();
            try
            {
                await accepting.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The listener was stopped under a pending accept.
            }
        }
    }

    private async Task AcceptAsync(string state, TaskCompletionSource<string> outcome, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (!outcome.Task.IsCompleted)
            {
                var client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(ServeAsync(client, state, outcome, cancellationToken));
            }
        }
        finally
        {
            await Task.WhenAll(connections).ConfigureAwait(false);
        }
    }

    private static async Task ServeAsync(TcpClient client, string state, TaskCompletionSource<string> outcome, CancellationToken cancellationToken)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            var stream = client.GetStream();
            var target = await ReadRequestTargetAsync(stream, timeout.Token).ConfigureAwait(false);
            if (target is null) return;
            var query = ParseQuery(target);
            if (!query.TryGetValue("state", out var received) || !(query.ContainsKey("code") || query.ContainsKey("error")))
            {
                await RespondAsync(stream, 404, "Not found.", timeout.Token).ConfigureAwait(false);
                return;
            }
            if (received != state)
            {
                await RespondAsync(stream, 400, "This sign-in answer is not for the waiting lp auth login (state mismatch).", timeout.Token).ConfigureAwait(false);
                return;
            }
            if (query.TryGetValue("error", out var error))
            {
                await RespondAsync(stream, 200, $"LoadPipe: sign-in did not complete ({Encode(error)}). You can close this window.", timeout.Token).ConfigureAwait(false);
                outcome.TrySetException(new LoadPipeException(ErrorKind.Auth, $"the sign-in was not completed in the browser ({Printable(error)})"));
                return;
            }
            await RespondAsync(stream, 200, "LoadPipe: signed in. You can close this window and return to the terminal.", timeout.Token).ConfigureAwait(false);
            outcome.TrySetResult(query["code"]);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // An idle, broken or abandoned connection: keep waiting for the real redirect.
        }
    }

    /// <summary>The request-target of a GET, or null for anything else (or nothing) before the connection goes quiet.</summary>
    private static async Task<string?> ReadRequestTargetAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHeadBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0) break;
        }
        var head = Encoding.ASCII.GetString(buffer, 0, length);
        var lineEnd = head.IndexOf("\r\n", StringComparison.Ordinal);
        var parts = (lineEnd >= 0 ? head[..lineEnd] : head).Split(' ');
        return parts.Length == 3 && parts[0] == "GET" && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) ? parts[1] : null;
    }

    private static Dictionary<string, string> ParseQuery(string target)
    {
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        var mark = target.IndexOf('?', StringComparison.Ordinal);
        if (mark < 0) return query;
        foreach (var pair in target[(mark + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString((equals < 0 ? pair : pair[..equals]).Replace('+', ' '));
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            query.TryAdd(name, value);
        }
        return query;
    }

    private static async Task RespondAsync(NetworkStream stream, int status, string text, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes($"<!doctype html><html><head><meta charset=\"utf-8\"><title>LoadPipe</title></head><body><p>{text}</p></body></html>\n");
        var reason = status switch { 200 => "OK", 400 => "Bad Request", _ => "Not Found" };
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head, cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(Printable(text));

    /// <summary>An error code from the query string, fit for one line: short, printable ASCII.</summary>
    private static string Printable(string text)
    {
        var clean = new string(text.Where(c => c is >= ' ' and <= '~').Take(80).ToArray());
        return clean.Length > 0 ? clean : "unknown error";
    }

    public void Dispose() => _listener.Stop();
}
