using System.Globalization;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Google;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;
using LoadPipe.Testing.Google;
using LoadPipe.Testing.Google.Faults;

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

    [Fact]
    public async Task Copy_SameMyDriveUnderAnotherRemoteName_SharesTheManifestSkipsEveryFileAndAsksGoogleOncePerRemote()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        DriveRemote.Configure(sandbox, google); // "mydrive": My Drive, no root folder configured
        var source = Path.Combine(sandbox.Root, "in");
        FileTree.Write(source, [.. FileTree.Small(4, 20 << 10, seed: 301)], seed: 301);
        // Another machine's config: the same account (another copy of its key file) under another name.
        var key = sandbox.PathOf("elsewhere/key.json");
        File.Copy(sandbox.PathOf("keys/drive-sa.json"), key);
        var other = sandbox.PathOf("other.yaml");
        File.WriteAllText(other, $"""
            remotes:
              team:
                type: gdrive
                service_account_file: {key}
                token_url: {google.TokenUri}
                api_url: {google.DriveApiUri}
                upload_url: {google.DriveUploadUri}

            """);

        var first = await sandbox.LpAsync("copy", source, $"{DriveRemote.Name}:backup/", "--json");
        var second = await sandbox.LpAsync("copy", source, "team:backup/", "--config", other, "--json");
        var rootAsks = google.Requests.OfKind(RequestKind.DriveGet).Count(r => r.Path.EndsWith("/files/root", StringComparison.Ordinal));
        google.Requests.Clear();
        var again = await sandbox.LpAsync("copy", source, $"{DriveRemote.Name}:backup/", "--json");

        first.AssertExitCode(0);
        Assert.Equal((4, 0), (first.Summary.Files, first.Summary.FilesSkipped));
        second.AssertExitCode(0);
        Assert.Equal((4, 4, 0L), (second.Summary.Files, second.Summary.FilesSkipped, second.Summary.BytesSent));
        Assert.Equal(2, rootAsks); // once for each remote name, then kept in the manifest
        again.AssertExitCode(0);
        Assert.Equal((4, 4), (again.Summary.Files, again.Summary.FilesSkipped));
        Assert.DoesNotContain(google.Requests.All, r => r.Path.EndsWith("/files/root", StringComparison.Ordinal));
        // The sessions name the account's root folder, not either remote.
        var sessions = (await sandbox.LpAsync("sessions", "--json")).AssertExitCode(0).JsonLines;
        Assert.All(sessions, s => Assert.StartsWith($"gdrive+http://127.0.0.1:{google.BaseUri.Port}/{google.RootFolderId}/backup",
            s.GetProperty("destination").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Copy_SameChannelUnderAnotherRemoteName_BothRecordedUnderTheChannel()
    {
        using var sandbox = new Sandbox();
        await using var google = await GoogleProtocolServer.StartAsync();
        var key = sandbox.PathOf("keys/yt-sa.json");
        File.WriteAllText(key, google.CreateServiceAccount("lp-e2e@loadpipe-test.iam.gserviceaccount.com",
            ["https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube.readonly"]));
        string Config(string name) => $"""
            remotes:
              {name}:
                type: youtube
                service_account_file: {key}
                token_url: {google.TokenUri}
                api_url: {google.YouTubeApiUri}
                upload_url: {google.YouTubeUploadUri}

            """;
        File.WriteAllText(sandbox.PathOf("a.yaml"), Config("channel"));
        File.WriteAllText(sandbox.PathOf("b.yaml"), Config("publish"));
        var video = sandbox.PathOf("talk.mp4");
        File.WriteAllBytes(video, [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7))]);

        var first = await sandbox.LpAsync("copy", video, "channel:", "--title", "Talk", "--config", sandbox.PathOf("a.yaml"), "--json");
        var second = await sandbox.LpAsync("copy", video, "publish:", "--title", "Talk", "--config", sandbox.PathOf("b.yaml"), "--json");

        first.AssertExitCode(0);
        second.AssertExitCode(0);
        // One transfer key for both: the channel and the file's name. (What a remote skips as already published is its
        // upload history, which stays per remote name: docs/adapters/youtube.md.)
        var sessions = (await sandbox.LpAsync("sessions", "--json")).AssertExitCode(0).JsonLines;
        Assert.Equal(2, sessions.Count);
        Assert.All(sessions, s => Assert.Equal($"youtube+http://127.0.0.1:{google.BaseUri.Port}/{google.ChannelId}/",
            s.GetProperty("destination").GetString()));
        Assert.Equal(2, google.Requests.OfKind(RequestKind.YouTubeChannels).Count(r => r.Query.Contains("mine=true", StringComparison.Ordinal)));
    }
}
