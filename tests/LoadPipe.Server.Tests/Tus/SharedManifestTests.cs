using System.Net;
using System.Text;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.TusCalls;

namespace LoadPipe.Server.Tests.Tus;

/// <summary>An upload's state lives in the manifest: two servers sharing a PostgreSQL manifest (a database of this
/// test's own on LP_TEST_POSTGRES) each answer for the other's upload.</summary>
public sealed class SharedManifestTests
{
    [Fact]
    public async Task TwoServersSharingAPostgresManifest_EachContinuesTheOthersUpload()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var destination = Directory.CreateTempSubdirectory("lp-shared-");
        try
        {
            var manifest = database.ConnectionString;
            await using (var a = await RunningServer.StartAsync(manifest: manifest, configure: x => x with { Destination = destination.FullName + "/" }))
            await using (var b = await RunningServer.StartAsync(manifest: manifest, configure: x => x with { Destination = destination.FullName + "/" }))
            {
                var onA = await CreatedAsync(a.Client, 10, Metadata(("filename", "shared.bin")));
                var onB = new Uri(b.Client.BaseAddress!, onA.AbsolutePath);

                using (var first = await PatchAsync(b.Client, onB, 0, "0123"u8.ToArray()))
                    Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
                using (var head = await HeadAsync(a.Client, onA))
                    Assert.Equal(4, Offset(head));
                using (var rest = await PatchAsync(a.Client, onA, 4, "456789"u8.ToArray()))
                    Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
                using (var head = await HeadAsync(b.Client, onB))
                    Assert.Equal(10, Offset(head));
            }
            Assert.Equal("0123456789", await File.ReadAllTextAsync(Path.Combine(destination.FullName, "shared.bin")));
        }
        finally
        {
            destination.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TwoServersSharingAPostgresManifest_SameFilenameAtOnce_EachUploadGetsAnObjectOfItsOwn()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var destination = Directory.CreateTempSubdirectory("lp-shared-");
        try
        {
            var manifest = database.ConnectionString;
            await using (var a = await RunningServer.StartAsync(manifest: manifest, configure: x => x with { Destination = destination.FullName + "/" }))
            await using (var b = await RunningServer.StartAsync(manifest: manifest, configure: x => x with { Destination = destination.FullName + "/" }))
            {
                var name = Metadata(("filename", "same.bin"));
                // One on each server first: neither knows of the other's upload but through the manifest.
                var created = new List<(RunningServer Server, Uri Url)>
                {
                    (a, await CreatedAsync(a.Client, 5, name)),
                    (b, await CreatedAsync(b.Client, 5, name)),
                };
                // Then six at once, alternating.
                var servers = Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? a : b).ToList();
                var urls = await Task.WhenAll(servers.Select(server => CreatedAsync(server.Client, 5, name)));
                created.AddRange(servers.Zip(urls));

                for (var i = 0; i < created.Count; i++)
                {
                    var (server, url) = created[i];
                    using var patch = await PatchAsync(server.Client, url, 0, Encoding.ASCII.GetBytes($"body{i}"));
                    Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
                }
            }
            var stored = Directory.GetFiles(destination.FullName).Select(f => (Path.GetFileName(f), File.ReadAllText(f))).ToList();
            Assert.Equal(8, stored.Count);
            Assert.Contains(stored, f => f.Item1 == "same.bin");
            Assert.Equal(Enumerable.Range(0, 8).Select(i => $"body{i}").Order(), stored.Select(f => f.Item2).Order());
        }
        finally
        {
            destination.Delete(recursive: true);
        }
    }
}
