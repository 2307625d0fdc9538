using System.Net;
using System.Net.Sockets;

namespace LoadPipe.EndToEnd.Tests.Tus;

/// <summary>
/// A TCP proxy on 127.0.0.1 (a free port) to one upstream port that, while <see cref="Throttled"/>, passes what the
/// client sends at about <see cref="BytesPerSecond"/>: a request body then takes long enough on the wire that a test can
/// kill its sender in the middle of it. Answers pass at full speed. The Host header is passed as the client sent it, so
/// a server that builds URLs from it (a tus Location) names the proxy.
/// </summary>
public sealed class ThrottlingProxy : IAsyncDisposable
{
    private const int Slice = 64 << 10;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public ThrottlingProxy(int upstreamPort, int bytesPerSecond)
    {
        _upstream = upstreamPort;
        BytesPerSecond = bytesPerSecond;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int BytesPerSecond { get; }

    public volatile bool Throttled = true;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _upstream, _stop.Token);
                var up = PumpAsync(client.GetStream(), server.GetStream(), throttle: true);
                var down = PumpAsync(server.GetStream(), client.GetStream(), throttle: false);
                await Task.WhenAny(up, down);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // One side closed or reset: the other is closed with it.
            }
        }
    }

    private async Task PumpAsync(Stream from, Stream to, bool throttle)
    {
        var buffer = new byte[Slice];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                // The proxy's own rate limit (what a slow link does), not a wait for anything in the test.
                if (throttle && Throttled) await Task.Delay(TimeSpan.FromSeconds((double)n / BytesPerSecond), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
