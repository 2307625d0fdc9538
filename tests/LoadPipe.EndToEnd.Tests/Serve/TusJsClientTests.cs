using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.Serve;

/// <summary>
/// tus-js-client 4.3.1, the reference client, in node against `lp serve` as a real process (tests/tus/client.js). Skipped,
/// with the reason, where node or the module is missing; scripts/test.sh installs both.
/// </summary>
public sealed class TusJsClientTests
{
    private const string Client = "tests/tus/client.js";

    private static void SkipWithoutClient()
    {
        var reason = NodeScript.MissingReason("tus-js-client");
        Skip.If(reason is not null, reason);
    }

    private static string Event(JsonElement e) => e.GetProperty("event").GetString()!;
    private static string Url(JsonElement e) => e.GetProperty("url").GetString()!;

    private static string WriteRandom(Sandbox sandbox, string name, long length)
    {
        var path = sandbox.PathOf("src/" + name);
        using var file = File.Create(path);
        var buffer = new byte[1 << 20];
        for (var left = length; left > 0; left -= buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            file.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        }
        return path;
    }

    private static void AssertSameBytes(string expected, string actual)
    {
        Assert.True(File.Exists(actual), $"{actual} was not made");
        using var a = File.OpenRead(expected);
        using var b = File.OpenRead(actual);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(a)), Convert.ToHexString(SHA256.HashData(b)));
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100 << 20)]
    public async Task Upload_OfThisSize_IsByteIdentical(long length)
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var file = WriteRandom(sandbox, $"f{length}.bin", length);

        var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file);

        Assert.True(Event(end) == "success", end.ToString());
        AssertSameBytes(file, Path.Combine(serve.Uploads, $"f{length}.bin"));
    }

    [SkippableFact]
    public async Task Upload_AbortedMidway_ResumesFromItsUrl()
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var file = WriteRandom(sandbox, "resumed.bin", 20 << 20);

        var aborted = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--chunk-size", (1 << 20).ToString(), "--abort-after", (5 << 20).ToString());
        Assert.True(Event(aborted) == "aborted", aborted.ToString());
        var (status, offset) = await LpServe.HeadAsync(Url(aborted));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.InRange(offset!.Value, 5 << 20, (20 << 20) - 1);
        Assert.False(File.Exists(Path.Combine(serve.Uploads, "resumed.bin")));

        var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--upload-url", Url(aborted));
        Assert.True(Event(end) == "success", end.ToString());
        Assert.Equal(Url(aborted), Url(end));
        AssertSameBytes(file, Path.Combine(serve.Uploads, "resumed.bin"));
    }

    [SkippableFact]
    public async Task Upload_InFourParallelParts_IsJoinedByConcatenation()
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var file = WriteRandom(sandbox, "parallel.bin", (12 << 20) + 5);

        var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--parallel", "4");

        Assert.True(Event(end) == "success", end.ToString());
        AssertSameBytes(file, Path.Combine(serve.Uploads, "parallel.bin"));
    }

    [SkippableFact]
    public async Task Upload_WithAWrongChecksum_Gets460AndNothingIsKept()
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var file = WriteRandom(sandbox, "checked.bin", 1 << 20);

        var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--wrong-checksum");

        Assert.True(Event(end) == "error", end.ToString());
        Assert.Equal(460, end.GetProperty("status").GetInt32());
        var (_, offset) = await LpServe.HeadAsync(Url(end));
        Assert.Equal(0, offset);
        Assert.False(File.Exists(Path.Combine(serve.Uploads, "checked.bin")));
    }

    [SkippableFact]
    public async Task Upload_WithDeferredLength_IsByteIdentical()
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var file = WriteRandom(sandbox, "streamed.bin", (3 << 20) + 17);

        var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--defer");

        Assert.True(Event(end) == "success", end.ToString());
        AssertSameBytes(file, Path.Combine(serve.Uploads, "streamed.bin"));
    }

    [SkippableFact]
    public async Task Upload_Expired_IsGoneAndTheClientStartsAnew()
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        // Long enough for the second, single-request upload to finish before its own expiry on a loaded machine.
        await using var serve = await LpServe.StartAsync(sandbox, "expiration: 15s");
        var file = WriteRandom(sandbox, "late.bin", 1 << 20);

        var aborted = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--chunk-size", (256 << 10).ToString(), "--abort-after", "1");
        Assert.True(Event(aborted) == "aborted", aborted.ToString());
        // Once its Upload-Expires has passed it is removed (by the sweeper, or by the first request to find it expired).
        await Poll.UntilAsync(() => LpServe.HeadAsync(Url(aborted)).GetAwaiter().GetResult().Status == HttpStatusCode.NotFound,
            TimeSpan.FromMinutes(1), () => "the expired upload is still there");

        var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--upload-url", Url(aborted));
        Assert.True(Event(end) == "success", end.ToString());
        Assert.NotEqual(Url(aborted), Url(end));
        AssertSameBytes(file, Path.Combine(serve.Uploads, "late.bin"));
    }

    [SkippableFact]
    public async Task Serve_KilledWithSigkillDuringA200MiBUpload_TheClientResumesAndTheObjectIsByteIdentical()
    {
        SkipWithoutClient();
        using var sandbox = new Sandbox();
        await using var serve = await LpServe.StartAsync(sandbox);
        var file = WriteRandom(sandbox, "big.bin", 200 << 20);

        await using (var client = NodeScript.Start(Client, ["--endpoint", serve.Endpoint, "--file", file, "--chunk-size", (8 << 20).ToString()]))
        {
            await Poll.UntilAsync(() => client.ProgressBytes >= 64 << 20, TimeSpan.FromMinutes(3),
                () => $"the client sent {client.ProgressBytes} bytes", giveUp: () => client.HasExited);
            await serve.KillAsync();
            var failed = await client.EndAsync();
            Assert.True(Event(failed) == "error", failed.ToString());
            await serve.RestartAsync();

            var url = Url(failed);
            var (status, offset) = await LpServe.HeadAsync(url);
            Assert.Equal(HttpStatusCode.OK, status);
            // Acknowledged chunks survived the kill; the rest comes again.
            Assert.InRange(offset!.Value, 1, (200 << 20) - 1);

            var end = await NodeScript.RunAsync(Client, "--endpoint", serve.Endpoint, "--file", file, "--upload-url", url);
            Assert.True(Event(end) == "success", end.ToString());
            Assert.Equal(url, Url(end));
        }
        AssertSameBytes(file, Path.Combine(serve.Uploads, "big.bin"));
    }
}
