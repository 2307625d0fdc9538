using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadPipe.Server.Ingest.StorageElements;

namespace LoadPipe.Server.Tests.Support;

/// <summary>A redis-server of the test's own on a free port, so that the test can stop it.</summary>
public sealed class OwnRedis : IAsyncDisposable
{
    private readonly Process _process;

    private OwnRedis(Process process, RedisAddress address)
    {
        _process = process;
        Address = address;
    }

    public RedisAddress Address { get; }

    public static async Task<OwnRedis> StartAsync(string folder, params string[] options)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", folder, "--save", "", "--appendonly", "no"])
            start.ArgumentList.Add(arg);
        foreach (var option in options) start.ArgumentList.Add(option);
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (install Debian's redis-server)");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var address = new RedisAddress("127.0.0.1", port, null, null);
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await using var connection = await RespConnection.ConnectAsync(address, TimeSpan.FromSeconds(2), CancellationToken.None);
                // Any answer will do: with requirepass, PING answers NOAUTH.
                return await connection.CommandAsync(["PING"], CancellationToken.None) is "PONG" or RedisErrorException;
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                return process.HasExited ? throw new InvalidOperationException("redis-server exited at start") : false;
            }
        }, () => $"redis-server on port {port} never answered");
        return new OwnRedis(process, address);
    }

    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
