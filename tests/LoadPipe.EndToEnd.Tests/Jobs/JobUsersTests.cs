using System.Globalization;
using System.IO.Pipelines;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Postgres;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.Testing.Google;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>
/// Seed 003's users (issue 15 part 6): `lp auth login REMOTE --user NAME` keeps each user's sign-in apart, and a job
/// with `--user NAME` uploads with that user's tokens only, checked on the Google protocol server by the bearer token
/// each upload request carried. A user with no sign-in gets one clear error, never another user's or the default tokens.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class JobUsersTests
{
    private const string Remote = "mydrive";

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Worker_TwoUsersJobs_EachUploadCarriesItsOwnUsersToken_AndAUserWithoutASignInFails(string engine)
    {
        using var sandbox = new Sandbox();
        await using var database = engine == "postgres" ? await PostgresDatabase.CreateAsync() : null;
        var manifest = database?.ConnectionString ?? sandbox.Manifest;
        await using var google = await GoogleProtocolServer.StartAsync();
        Configure(sandbox, google);
        var lineage = new Dictionary<string, string>();
        foreach (var user in new string?[] { "ann", "bob", null })
        {
            (await LoginAsync(sandbox, manifest, user)).AssertExitCode(0);
            lineage[user ?? "(default)"] = google.OAuth.Issued[^1].RefreshToken!;
        }
        var ann = Digest.WriteRandomFile(sandbox.PathOf("in/ann.bin"), 3 << 20, seed: 1950);
        var bob = Digest.WriteRandomFile(sandbox.PathOf("in/bob.bin"), 3 << 20, seed: 1951);
        Digest.WriteRandomFile(sandbox.PathOf("in/ann-later.bin"), 1000, seed: 1952);
        Digest.WriteRandomFile(sandbox.PathOf("in/carol.bin"), 1000, seed: 1953);

        // ann's job queued, then her sign-in removed: the worker must not fall back to bob's or the default one.
        var laterJob = await AddAsync(sandbox, manifest, "in/ann-later.bin", "ann");
        var logout = (await LpProcess.RunAsync(sandbox, "auth", "logout", Remote, "--user", "ann", "--manifest", manifest)).AssertExitCode(0);
        (await LpProcess.RunAsync(sandbox, "worker", "--exit-when-idle", "--manifest", manifest)).AssertExitCode(0);
        var later = await ShowAsync(sandbox, manifest, laterJob);
        var carol = await LpProcess.RunAsync(sandbox, "jobs", "add", "in/carol.bin", $"{Remote}:", "--user", "carol", "--manifest", manifest);
        (await LoginAsync(sandbox, manifest, "ann")).AssertExitCode(0);
        lineage["ann"] = google.OAuth.Issued[^1].RefreshToken!;
        var listed = (await LpProcess.RunAsync(sandbox, "auth", "list", "--json", "--manifest", manifest)).AssertExitCode(0);
        var annJob = await AddAsync(sandbox, manifest, "in/ann.bin", "ann");
        var bobJob = await AddAsync(sandbox, manifest, "in/bob.bin", "bob");
        (await LpProcess.RunAsync(sandbox, "worker", "--exit-when-idle", "--concurrency", "2", "--manifest", manifest)).AssertExitCode(0);

        Assert.Equal(["ann", "bob"], listed.JsonLines.Where(j => j.GetProperty("user").ValueKind == System.Text.Json.JsonValueKind.String)
            .Select(j => j.GetProperty("user").GetString()));
        Assert.Contains("signed out", logout.Stdout, StringComparison.Ordinal);
        carol.AssertExitCode(1);
        Assert.Equal($"error: remote '{Remote}' has no sign-in for user 'carol': run lp auth login {Remote} --user carol (a user's jobs never use another user's or the default sign-in)",
            carol.AssertOneErrorLine());
        Assert.Equal("failed", later.GetProperty("state").GetString());
        Assert.Contains($"has no sign-in for user 'ann': run lp auth login {Remote} --user ann", later.GetProperty("error").GetString(), StringComparison.Ordinal);
        foreach (var id in new[] { annJob, bobJob }) Assert.Equal("completed", (await ShowAsync(sandbox, manifest, id)).GetProperty("state").GetString());
        Assert.Equal(Digest.Sha256(ann), Digest.Sha256(google.GetContent(google.FindByPath("ann.bin")!.Id)));
        Assert.Equal(Digest.Sha256(bob), Digest.Sha256(google.GetContent(google.FindByPath("bob.bin")!.Id)));
        Assert.Null(google.FindByPath("ann-later.bin"));
        foreach (var (file, user) in new[] { ("ann.bin", "ann"), ("bob.bin", "bob") })
        {
            var chunks = google.Requests.All.Where(r => r.UploadSessionName == file).ToList();
            Assert.NotEmpty(chunks);
            Assert.All(chunks, r => Assert.Equal(lineage[user], google.OAuth.Find(r.BearerToken!)?.RefreshToken));
        }
        // No request at all was made with the default sign-in's tokens.
        Assert.DoesNotContain(google.Requests.All, r => r.BearerToken is { } t && google.OAuth.Find(t)?.RefreshToken == lineage["(default)"]);
    }

    private static async Task<string> AddAsync(Sandbox sandbox, string manifest, string source, string user) =>
        (await LpProcess.RunAsync(sandbox, "jobs", "add", source, $"{Remote}:", "--user", user, "--max-retries", "0", "--chunk-size", "1M", "--manifest", manifest))
            .AssertExitCode(0).Stdout.Trim();

    private static async Task<System.Text.Json.JsonElement> ShowAsync(Sandbox sandbox, string manifest, string id) =>
        Assert.Single((await LpProcess.RunAsync(sandbox, "jobs", "show", id, "--json", "--manifest", manifest)).AssertExitCode(0).JsonLines);

    /// <summary>`lp auth login` with the test as the browser: it opens the address lp prints; the fake consents.</summary>
    private static async Task<LpResult> LoginAsync(Sandbox sandbox, string manifest, string? user)
    {
        var stdout = new Pipe();
        string[] args = user is null
            ? ["auth", "login", Remote, "--no-browser", "--manifest", manifest]
            : ["auth", "login", Remote, "--no-browser", "--user", user, "--manifest", manifest];
        await using var lp = LpProcess.Start(sandbox, args, stdout.Writer.AsStream());
        using var reader = new StreamReader(stdout.Reader.AsStream());
        var address = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (address is null || !address.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
            Assert.Fail($"expected the consent address as lp's first line on stdout, got '{address}'\n{await lp.KillAsync()}");
        using (var browser = new HttpClient())
            (await browser.GetAsync(address)).Dispose();
        return await lp.WaitAsync();
    }

    private static void Configure(Sandbox sandbox, GoogleProtocolServer google) =>
        File.WriteAllText(sandbox.PathOf(".config/loadpipe/config.yaml"), string.Create(CultureInfo.InvariantCulture, $"""
            remotes:
              {Remote}:
                type: gdrive
                client_id: {GoogleProtocolServer.DefaultClientId}
                client_secret: {GoogleProtocolServer.DefaultClientSecret}
                auth_url: {google.AuthUri}
                token_url: {google.TokenUri}
                api_url: {google.DriveApiUri}
                upload_url: {google.DriveUploadUri}
                root_folder_id: {google.RootFolderId}

            """));
}
