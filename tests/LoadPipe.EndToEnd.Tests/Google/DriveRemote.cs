using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Testing.Google;

namespace LoadPipe.EndToEnd.Tests.Google;

/// <summary>
/// A gdrive remote on the Google protocol server (started in the test process, on loopback), as lp sees it: the
/// sandbox's default config file names the server's endpoints and a service-account key file the server issued, so
/// lp gets its tokens the way it would from Google (a signed JWT to the token endpoint).
/// </summary>
public static class DriveRemote
{
    public const string Name = "mydrive";

    /// <summary>Writes the key file and the config; returns the config file's path.</summary>
    public static string Configure(Sandbox sandbox, GoogleProtocolServer google, string extraYaml = "")
    {
        var key = sandbox.PathOf("keys/drive-sa.json");
        File.WriteAllText(key, google.CreateServiceAccount("lp-e2e@loadpipe-test.iam.gserviceaccount.com"));
        var config = sandbox.PathOf(".config/loadpipe/config.yaml");
        File.WriteAllText(config, $"""
            remotes:
              {Name}:
                type: gdrive
                service_account_file: {key}
                token_url: {google.TokenUri}
                api_url: {google.DriveApiUri}
                upload_url: {google.DriveUploadUri}
            {extraYaml}
            """);
        return config;
    }

    /// <summary>The session of the one upload of a file named <paramref name="name"/>, once it holds at least <paramref name="bytes"/>.</summary>
    public static async Task KillOnceUploadedAsync(LpProcess lp, GoogleProtocolServer google, string name, long bytes)
    {
        await Poll.UntilAsync(() => Received(google, name) >= bytes, TimeSpan.FromSeconds(60),
            () => $"the upload session of {name} holds {Received(google, name)} bytes, waiting for {bytes} (lp exited: {lp.HasExited})",
            giveUp: () => lp.HasExited);
        var killed = await lp.KillAsync();
        Assert.True(killed.ExitCode != 0, $"lp finished before it could be killed\n{killed}");
    }

    private static long Received(GoogleProtocolServer google, string name) =>
        google.UploadSessions.Where(s => s.Name == name).Select(s => s.Received).DefaultIfEmpty(0).Max();
}
