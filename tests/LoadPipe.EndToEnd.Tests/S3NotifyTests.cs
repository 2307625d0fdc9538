using System.Globalization;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.S3;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// The session summary POSTed to a real HTTP endpoint: by `--on-complete URL` when a copy to S3 ends, and again on
/// demand by `lp notify SESSION URL`.
/// </summary>
public sealed class S3NotifyTests(WebhookReceiver hook) : IClassFixture<WebhookReceiver>
{
    [Fact]
    public async Task Copy_OnComplete_PostsSessionSummaryAndNotifySendsItAgain()
    {
        using var sandbox = new Sandbox();
        S3Remote.Configure(sandbox);
        var prefix = S3Remote.NewPrefix("notify");
        var source = Path.Combine(sandbox.Root, "in");
        FileTree.Write(source, FileTree.Small(7, 20 << 10, seed: 300), seed: 300);
        var total = FileTree.TotalLength(source);

        var run = await sandbox.LpAsync("copy", source, S3Remote.Folder(prefix), "--project", "birds", "--on-complete", hook.Url, "--json");

        run.AssertExitCode(0);
        Assert.DoesNotContain(run.StderrLines, l => l.StartsWith("warning:", StringComparison.Ordinal));
        var onComplete = Assert.Single(hook.Requests);
        Assert.StartsWith("application/json", onComplete.ContentType);
        AssertSummary(onComplete.Body, run.Summary.Session, prefix, files: 7, total);

        var session = run.Summary.Session.ToString(CultureInfo.InvariantCulture);
        var notify = await sandbox.LpAsync("notify", session, hook.Url);

        notify.AssertExitCode(0);
        Assert.Equal(2, hook.Requests.Count);
        var again = hook.Requests[1].Body;
        AssertSummary(again, run.Summary.Session, prefix, files: 7, total);
        var listed = Assert.Single((await sandbox.LpAsync("sessions", "--json")).AssertExitCode(0).JsonLines);
        foreach (var field in new[] { "status", "source", "destination", "started", "finished" })
            Assert.Equal(listed.GetProperty(field).ToString(), again.GetProperty(field).ToString());
    }

    private static void AssertSummary(JsonElement body, long session, string prefix, int files, long bytes)
    {
        Assert.Equal(session, body.GetProperty("session").GetInt64());
        Assert.Equal("birds", body.GetProperty("project").GetString());
        Assert.Equal("completed", body.GetProperty("status").GetString());
        Assert.Equal(S3Remote.Bucket, body.GetProperty("destination_bucket").GetString());
        Assert.Equal(prefix, body.GetProperty("destination_prefix").GetString()!.TrimEnd('/'));
        Assert.Equal(files, body.GetProperty("total_files").GetInt32());
        Assert.Equal(files, body.GetProperty("uploaded").GetInt32());
        Assert.Equal(0, body.GetProperty("skipped").GetInt32());
        Assert.Equal(0, body.GetProperty("failed").GetInt32());
        Assert.Equal(bytes, body.GetProperty("bytes").GetInt64());
    }
}
