using System.Net;
using System.Security.Cryptography;
using LoadPipe.Server.Tests.Support;
using LoadPipe.Server.Tus;
using static LoadPipe.Server.Tests.Support.TusCalls;

namespace LoadPipe.Server.Tests.Tus;

/// <summary>An upload whose last PATCH could not be written: its offset never says "done" before the file is whole at
/// its name, and the client's retry of that PATCH finishes it.</summary>
public sealed class TusCompletionTests
{
    [Fact]
    public async Task LastPatch_WhoseDestinationCannotBeWritten_KeepsTheEarlierOffset_AndItsRetryCompletesTheFile()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        var upload = await CreatedAsync(server.Client, bytes.Length, Metadata(("filename", "doc.bin")));
        using (var first = await PatchAsync(server.Client, upload, 0, bytes[..100_000]))
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);

        // A folder now stands where the finished file must go: the last PATCH cannot open its write session.
        var target = Path.Combine(server.Destination, "doc.bin");
        Directory.CreateDirectory(target);
        using (var last = await PatchAsync(server.Client, upload, 100_000, bytes[100_000..]))
            Assert.False(last.IsSuccessStatusCode, $"the failed completion answered {(int)last.StatusCode}");

        // The last bytes are not reported kept (a client seeing the full offset would take the upload for done).
        using (var head = await HeadAsync(server.Client, upload))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(100_000, Offset(head));
        }

        Directory.Delete(target);
        using (var retry = await PatchAsync(server.Client, upload, 100_000, bytes[100_000..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, retry.StatusCode);
            Assert.Equal(bytes.Length, Offset(retry));
        }
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(target)));
    }
}
