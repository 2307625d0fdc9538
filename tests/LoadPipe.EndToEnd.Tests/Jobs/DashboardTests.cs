using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using LoadPipe.EndToEnd.Tests.Serve;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LoadPipe.EndToEnd.Tests.Jobs;

/// <summary>
/// The dashboard in real Chromium (Debian's, LP_TEST_CHROMIUM, driven by Microsoft.Playwright) against `lp serve` and
/// an `lp worker` as real processes: a job added in the form runs to completed, a running job is cancelled, a failed
/// one retried. Screenshots at 1280x800 and at a phone's size go to the test output (screenshots/).
/// </summary>
public sealed class DashboardTests
{
    private static readonly float Long = (float)TimeSpan.FromMinutes(2).TotalMilliseconds;

    [Fact]
    public async Task Dashboard_AddCancelRetry_JobsMoveAsTheWorkerRunsThem()
    {
        var chromium = Environment.GetEnvironmentVariable("LP_TEST_CHROMIUM");
        Assert.False(string.IsNullOrWhiteSpace(chromium),
            "LP_TEST_CHROMIUM is not set: run scripts/test.sh, which installs Debian's chromium, or point it at a Chromium binary");
        using var sandbox = new Sandbox();
        var added = Digest.WriteRandomFile(sandbox.PathOf("in/added.bin"), 2 << 20, seed: 1900);
        Digest.WriteRandomFile(sandbox.PathOf("in/slow.bin"), 32 << 20, seed: 1901);
        var slow = (await sandbox.LpAsync("jobs", "add", "in/slow.bin", "out/", "--chunk-size", "1M", "--bwlimit", "512K")).AssertExitCode(0).Stdout.Trim();
        var late = (await sandbox.LpAsync("jobs", "add", "in/late.bin", "out/", "--max-retries", "0")).AssertExitCode(0).Stdout.Trim();
        await using var serve = await LpServe.StartAsync(sandbox);
        await using var worker = sandbox.StartLp("worker", "--concurrency", "2", "--poll", "200ms");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        await page.GotoAsync($"http://127.0.0.1:{serve.Port}/");
        await Expect(page.Locator("#status")).ToHaveTextAsync("live", new() { Timeout = Long });

        // The failed job: its source did not exist when the worker ran it; it does now, and Retry runs it again.
        var lateRow = Row(page, late);
        await Expect(lateRow.Locator(".badge")).ToHaveTextAsync("failed", new() { Timeout = Long });
        var lateBytes = Digest.WriteRandomFile(sandbox.PathOf("in/late.bin"), 300_000, seed: 1902);
        await lateRow.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
        await Expect(lateRow.Locator(".badge")).ToHaveTextAsync("completed", new() { Timeout = Long });

        // A job added in the form: it appears, runs and completes, its progress bar full.
        await page.GetByLabel("Source").FillAsync(sandbox.PathOf("in/added.bin"));
        await page.GetByLabel("Destination").FillAsync(sandbox.PathOf("out") + "/");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add job" }).ClickAsync();
        var addedRow = page.Locator("tr.job", new() { HasText = "added.bin" });
        await Expect(addedRow.Locator(".badge")).ToHaveTextAsync("completed", new() { Timeout = Long });
        await Expect(addedRow.GetByRole(AriaRole.Progressbar)).ToHaveAttributeAsync("aria-valuenow", "100");

        // The slow job runs, shows its speed, and the Cancel button stops it on the worker.
        var slowRow = Row(page, slow);
        await Expect(slowRow.Locator(".numbers")).ToContainTextAsync("/s", new() { Timeout = Long });
        await Shoot(page, "dashboard-1280x800-running.png");
        await slowRow.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(slowRow.Locator(".badge")).ToHaveTextAsync("cancelled", new() { Timeout = Long });

        // A job's detail lists its attempts and their errors.
        await lateRow.ClickAsync();
        await Expect(page.Locator("#attempts li")).ToHaveCountAsync(2);
        await Expect(page.Locator("#attempts li").First).ToContainTextAsync("late.bin");
        // The worker with its heartbeat: idle by now (every job has ended), its 2 slots free.
        await Expect(page.Locator("#workers li")).ToContainTextAsync("idle · 0/2", new() { Timeout = Long });
        await Expect(page.Locator("#workers li")).ToContainTextAsync("heartbeat");
        await Shoot(page, "dashboard-1280x800-detail.png");
        await page.Locator(".filters button", new() { HasText = "cancelled" }).ClickAsync();
        await Expect(page.Locator("tr.job")).ToHaveCountAsync(1);

        await page.SetViewportSizeAsync(390, 844);
        await page.Locator(".filters button", new() { HasText = "all" }).ClickAsync();
        await Shoot(page, "dashboard-phone-390x844.png");
        var phoneWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");

        Assert.True(phoneWidth <= 390, $"the page is {phoneWidth} px wide on a 390 px screen: it scrolls sideways");
        Assert.Equal(Digest.Sha256(added), Digest.Sha256OfFile(sandbox.PathOf("out/added.bin")));
        Assert.Equal(Digest.Sha256(lateBytes), Digest.Sha256OfFile(sandbox.PathOf("out/late.bin")));
        Assert.False(File.Exists(sandbox.PathOf("out/slow.bin")));
        await worker.TerminateAsync();
        (await worker.WaitAsync()).AssertExitCode(0);
    }

    private static ILocator Row(IPage page, string id) => page.Locator($"tr.job[data-id='{id}']");

    private static Task Shoot(IPage page, string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        return page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = true });
    }
}
