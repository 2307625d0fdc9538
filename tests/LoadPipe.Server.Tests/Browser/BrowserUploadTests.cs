using System.Security.Cryptography;
using LoadPipe.Server.Tests.Support;
using Microsoft.Playwright;

namespace LoadPipe.Server.Tests.Browser;

/// <summary>
/// A real browser against `lp serve`: Debian's chromium, driven by Playwright, runs tus-js-client's browser bundle in a
/// page of another origin (so the CORS preflights are the browser's own), with a JWT, aborts the upload in the middle
/// of a PATCH and resumes it from its URL. LP_TEST_CHROMIUM names the browser (scripts/test.sh installs it).
/// </summary>
public sealed class BrowserUploadTests
{
    private const int Size = 6 << 20;

    /// <summary>The page: a Blob of <see cref="Size"/> bytes made by a formula the test repeats, and two steps, each a
    /// promise: start and abort once <c>abortAfter</c> bytes went out (mid-PATCH), then resume from the upload URL.</summary>
    private const string Page = """
        <!doctype html>
        <html><head><meta charset="utf-8"><script src="/tus.min.js"></script></head><body>
        <script>
        function makeBlob(size) {
          const bytes = new Uint8Array(size);
          for (let i = 0; i < size; i++) bytes[i] = (i * 131 + (i >>> 11)) & 255;
          return new Blob([bytes]);
        }
        function options(token, extra) {
          return Object.assign({
            chunkSize: 1024 * 1024,
            headers: { Authorization: 'Bearer ' + token },
            metadata: { filename: 'browser.bin' },
            storeFingerprintForResuming: false,
          }, extra);
        }
        window.startAndAbort = ([endpoint, token, size, abortAfter]) => new Promise((resolve, reject) => {
          let aborted = false;
          const upload = new tus.Upload(makeBlob(size), options(token, {
            endpoint,
            retryDelays: [],
            onError: reject,
            onProgress: (sent) => {
              if (aborted || sent < abortAfter) return;
              aborted = true;
              upload.abort().then(() => resolve(upload.url), reject);
            },
            onSuccess: () => reject(new Error('the upload finished before it could be aborted')),
          }));
          upload.start();
        });
        window.resume = ([url, token, size]) => new Promise((resolve, reject) => {
          const upload = new tus.Upload(makeBlob(size), options(token, {
            uploadUrl: url,
            // The aborted PATCH may still be being stored: a 423 or a 409 is asked again.
            retryDelays: [200, 500, 1000, 2000, 4000, 8000],
            onError: reject,
            onSuccess: () => resolve(upload.url),
          }));
          upload.start();
        });
        </script></body></html>
        """;

    [Fact]
    public async Task TusJsClientInChromium_AbortedMidPatchAndResumed_StoresTheBlobByteForByte()
    {
        var chromium = Environment.GetEnvironmentVariable("LP_TEST_CHROMIUM") is { Length: > 0 } c ? c
            : throw new InvalidOperationException("LP_TEST_CHROMIUM is not set: run scripts/test.sh, which installs chromium");
        var bundle = Path.Combine(PageServer.RepositoryRoot(), ".artifacts", "npm", "node_modules", "tus-js-client", "dist", "tus.min.js");
        if (!File.Exists(bundle)) throw new InvalidOperationException($"{bundle} is missing: run scripts/test.sh, which installs tus-js-client");
        await using var server = await RunningServer.StartAsync(jwt: true);
        await using var site = await PageServer.StartAsync(Page, bundle);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url.AbsoluteUri);
        var endpoint = new Uri(server.Client.BaseAddress!, "/files/").AbsoluteUri;
        Assert.NotEqual(new Uri(endpoint).Port, site.Url.Port);
        var token = Tokens.Hs256("upload");

        var url = await page.EvaluateAsync<string>("window.startAndAbort", new object[] { endpoint, token, Size, (5 << 19) });
        using (var request = RunningServer.Tus(HttpMethod.Head, new Uri(url).PathAndQuery))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var head = await server.Client.SendAsync(request);
            // Two whole chunks at least were acknowledged before the abort, and not the whole Blob.
            Assert.InRange(TusCalls.Offset(head), 2 << 20, Size - 1);
        }
        var resumed = await page.EvaluateAsync<string>("window.resume", new object[] { url, token, Size });

        Assert.Equal(url, resumed);
        // The same upload finished: a second one would have got another name, "browser" being held by the first.
        Assert.Equal(["browser.bin"], server.StoredFiles());
        var expected = new byte[Size];
        for (var i = 0; i < Size; i++) expected[i] = (byte)((i * 131 + (i >>> 11)) & 255);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.Destination, "browser.bin"))));
    }
}
