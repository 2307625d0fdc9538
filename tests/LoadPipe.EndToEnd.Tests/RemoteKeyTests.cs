using System.Globalization;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>A remote is keyed in the manifest by what it points at, not by its name in one machine's config.</summary>
public sealed class RemoteKeyTests
{
    [Fact]
    public async Task Copy_SameBucketUnderAnotherRemoteName_SharesTheManifestAndSkipsEveryFile()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var prefix = S3Remote.NewPrefix("keys");
        var source = Path.Combine(sandbox.Root, "in");
        FileTree.Write(source, [.. FileTree.Small(5, 32 << 10, seed: 300), ("big.bin", 6 << 20)], seed: 300);
        // Another machine's config: the same server and bucket, named otherwise, its endpoint written otherwise (a '/').
        var other = sandbox.PathOf("other.yaml");
        File.WriteAllText(other, string.Create(CultureInfo.InvariantCulture, $"""
            remotes:
              archive:
                type: s3
                endpoint: {S3Remote.Endpoint}/
                region: us-east-1
                path_style: true
                access_key_id: {S3Remote.AccessKey}
                secret_access_key: {S3Remote.AccessKey}

            """));

        var first = await sandbox.LpAsync("copy", source, S3Remote.Folder(prefix), "--json");
        var second = await sandbox.LpAsync("copy", source, $"archive:{S3Remote.Bucket}/{prefix}/", "--config", other, "--json");

        first.AssertExitCode(0);
        Assert.Equal((6, 0), (first.Summary.Files, first.Summary.FilesSkipped));
        second.AssertExitCode(0);
        Assert.Equal((6, 6, 0L), (second.Summary.Files, second.Summary.FilesSkipped, second.Summary.BytesSent));
        // The sessions name the server and bucket, not either remote.
        var sessions = (await sandbox.LpAsync("sessions", "--json")).AssertExitCode(0).JsonLines;
        Assert.All(sessions, s => Assert.StartsWith("s3+http://127.0.0.1:", s.GetProperty("destination").GetString(), StringComparison.Ordinal));
        Assert.All(sessions, s => Assert.Equal(S3Remote.Bucket, s.GetProperty("destination_bucket").GetString()));
    }
}
