using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>`lp fetch` (seed 002) as a real process against a real HTTP server of the test's own, with the faults real
/// servers have: the right results and the right failures come out, in the jsonl results and the exit code.</summary>
public sealed class FetchTests(FileServer server, WebhookReceiver hooks) : IClassFixture<FileServer>, IClassFixture<WebhookReceiver>
{
    [Fact]
    public async Task Fetch_500UrlsWithFaults_HashesWhatWasServedAndFailsOnlyTheBrokenOnes()
    {
        using var sandbox = new Sandbox();
        var served = new Dictionary<string, byte[]>();
        var entries = new List<(string Id, string Name)>();
        for (var i = 0; i < 500; i++)
        {
            var name = $"f500-{i}.bin";
            entries.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), name));
            if (i < 5) continue; // never published: 404
            served[name] = server.PublishRandom(name, 2048 + i * 37, seed: 1000 + i);
        }
        // 503 then OK; 429 with Retry-After then OK; a slow body; a connection dropped mid-body (its body shorter than
        // its Content-Length) twice, then OK; a server that stays at 503 past the retries.
        for (var i = 5; i < 10; i++) server.Inject($"f500-{i}.bin", Fault.Respond(503));
        for (var i = 10; i < 13; i++) server.Inject($"f500-{i}.bin", Fault.Respond(429, retryAfterSeconds: 1));
        for (var i = 13; i < 16; i++) server.Inject($"f500-{i}.bin", Fault.Trickle(512, TimeSpan.FromMilliseconds(20)));
        for (var i = 16; i < 19; i++) server.Inject($"f500-{i}.bin", Fault.CutAfter(1000), Fault.CutAfter(500));
        for (var i = 19; i < 21; i++) server.Inject($"f500-{i}.bin", Enumerable.Repeat(Fault.Respond(503), 10).ToArray());
        var list = WriteJsonList(sandbox, entries.Select(e => (e.Id, e.Name, server.UrlOf(e.Name))));
        var results = sandbox.PathOf("results.jsonl");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--processor", "sha256", "--post-processor", "jsonl:" + results,
            "--downloads", "16", "--retries", "2", "--json");

        run.AssertExitCode(3);
        var lines = ReadResults(results);
        Assert.Equal(500, lines.Count);
        foreach (var (id, name) in entries)
        {
            var line = lines[id];
            Assert.Equal(name, line.GetProperty("name").GetString());
            if (int.Parse(id, System.Globalization.CultureInfo.InvariantCulture) is < 5 or >= 19 and < 21)
            {
                Assert.Equal("failed", line.GetProperty("status").GetString());
                Assert.Equal("download", line.GetProperty("stage").GetString());
                Assert.Contains(int.Parse(id, System.Globalization.CultureInfo.InvariantCulture) < 5 ? "404" : "503", line.GetProperty("error").GetString(), StringComparison.Ordinal);
                continue;
            }
            Assert.True(line.GetProperty("status").GetString() == "done", $"{name}: {line}");
            Assert.Equal(Digest.Sha256(served[name]), line.GetProperty("sha256").GetString());
            Assert.Equal(served[name].Length, line.GetProperty("size").GetInt64());
        }
        // The dropped connections were asked again from the first byte missing, never from 0 with a Range. How much had
        // arrived before a cut is the client's kernel's to say (a reset drops bytes not yet read, all of them at times),
        // so neither the offsets nor that a resume happened at all are asserted; the digests above are.
        foreach (var name in new[] { "f500-16.bin", "f500-17.bin", "f500-18.bin" })
        {
            var requests = server.RequestsFor(name);
            Assert.InRange(requests.Count, 2, 3);
            Assert.All(requests, r => Assert.True(r.RangeStart is null or > 0, $"{name}: {r}"));
        }
        using var summary = JsonDocument.Parse(run.StdoutLines[^1]);
        Assert.Equal("partial", summary.RootElement.GetProperty("status").GetString());
        Assert.Equal(500, summary.RootElement.GetProperty("files").GetInt64());
        Assert.Equal(7, summary.RootElement.GetProperty("failed_download").GetInt64());
        Assert.Equal(493, summary.RootElement.GetProperty("files_done").GetInt64());
    }

    [Fact]
    public async Task Fetch_BadEntries_FailAloneWithTheirLine_AndStrictStopsTheRun()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("good-entry.bin", 5000, seed: 3);
        var list = sandbox.PathOf("files.jsonl");
        File.WriteAllText(list, $$"""
            {"id": 1, "url": "{{server.UrlOf("good-entry.bin")}}"}
            {"id": 2, "name": "no-url"}
            not json
            {"id": 4, "url": "ftp://example.org/x"}

            """);
        var results = sandbox.PathOf("results.jsonl");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--post-processor", "jsonl:" + results);

        run.AssertExitCode(3);
        var lines = File.ReadAllLines(results).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, lines.Count);
        Assert.Equal(Digest.Sha256(content), lines.Single(l => l.GetProperty("status").GetString() == "done").GetProperty("sha256").GetString());
        var errors = lines.Where(l => l.GetProperty("status").GetString() == "failed").Select(l => l.GetProperty("error").GetString()!).Order().ToList();
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("line 2: entry 2 (id 2) has no 'url'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("line 3: entry 3 is not JSON", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("line 4: entry 4 (id 4): 'ftp://example.org/x' is not an http(s) URL", StringComparison.Ordinal));
        run.AssertNoStackTrace();
        // The rejected entries are the session's too, failed with their reasons, under their place in the list.
        var session = (await sandbox.LpAsync("status", "--json")).JsonLines[0].GetProperty("session").GetInt64();
        var transfers = (await sandbox.LpAsync("status", session.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).AssertExitCode(0).JsonLines;
        Assert.Equal(4, transfers.Count);
        var rejected = transfers.Where(t => t.GetProperty("status").GetString() == "failed").ToList();
        Assert.Equal(["line 2", "line 3", "line 4"], rejected.Select(t => t.GetProperty("last_error").GetString()!)
            .Select(e => e[(e.IndexOf("line ", StringComparison.Ordinal))..][..6]).Order().ToArray());
        Assert.All(rejected, t => Assert.Matches(@"files\.jsonl#line=[234]$", t.GetProperty("source").GetString()));

        var strict = await sandbox.LpAsync("fetch", "--files", list, "--strict", "--force");
        strict.AssertExitCode(2);
        Assert.Contains("line 2: entry 2 (id 2) has no 'url'", strict.AssertOneErrorLine(), StringComparison.Ordinal);

        // A JSON array broken in its middle cannot be trusted past the break: the run stops there, naming the line.
        var broken = sandbox.PathOf("broken.json");
        File.WriteAllText(broken, $$"""
            [
              {"id": "a", "url": "{{server.UrlOf("good-entry.bin")}}"},
              {"id": "b", "url": "{{server.UrlOf("good-entry.bin")}}" "oops"}
            ]
            """);
        var syntax = await sandbox.LpAsync("fetch", "--files", broken, "--force");
        syntax.AssertExitCode(2);
        Assert.Contains("broken.json line 3: not valid JSON", syntax.AssertOneErrorLine(), StringComparison.Ordinal);
        var sessions = (await sandbox.LpAsync("status", "--json")).JsonLines;
        Assert.Equal(new[] { "partial", "failed", "failed" }, sessions.Select(x => x.GetProperty("status").GetString()!).Reverse().ToArray());
    }

    [Fact]
    public async Task Fetch_PlainLinesOnStdin_StreamsThroughProcessorsWithoutATemporaryFile()
    {
        using var sandbox = new Sandbox();
        var text = "hello world\nsecond line here\n"u8.ToArray();
        server.Publish("stdin-text.txt", text);
        var png = new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 };
        server.Publish("stdin-image.png", png);
        var results = sandbox.PathOf("results.jsonl");
        await using var lp = LpProcess.Start(sandbox, ["fetch", "--files", "-", "--processor", "md5", "--processor", "content-type", "--processor", "counts",
            "--post-processor", "jsonl:" + results, "--cache-dir", sandbox.PathOf("cache/x"), "--manifest", sandbox.Manifest], redirectStdin: true);
        var listing = System.Text.Encoding.UTF8.GetBytes($"# two files\n{server.UrlOf("stdin-text.txt")}\n\n{server.UrlOf("stdin-image.png")}\n");
        await lp.StandardInput.WriteAsync(listing);
        lp.StandardInput.Close();

        var run = await lp.WaitAsync();

        run.AssertExitCode(0);
        var lines = File.ReadAllLines(results).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(l => l.GetProperty("url").GetString()!);
        var first = lines[server.UrlOf("stdin-text.txt")];
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(text)), first.GetProperty("md5").GetString());
        Assert.Equal("text/plain", first.GetProperty("content_type").GetString());
        Assert.Equal(2, first.GetProperty("counts").GetProperty("lines").GetInt64());
        Assert.Equal(5, first.GetProperty("counts").GetProperty("words").GetInt64());
        Assert.Equal("image/png", lines[server.UrlOf("stdin-image.png")].GetProperty("content_type").GetString());
        // Streamed: the cache folder was not even needed.
        Assert.False(Directory.Exists(sandbox.PathOf("cache/x")));
    }

    [Fact]
    public async Task Fetch_ArchiveProcessorWithSave_ListsTheZipKeepsTheFileAndWritesCsv()
    {
        using var sandbox = new Sandbox();
        using var zipBytes = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(zipBytes, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in new[] { ("a.txt", "alpha"), ("dir/b.txt", "bravo!") })
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(System.Text.Encoding.UTF8.GetBytes(text));
            }
        }
        var content = zipBytes.ToArray();
        server.Publish("listing.zip", content);
        var list = WriteJsonList(sandbox, [("z", "kept.zip", server.UrlOf("listing.zip"))]);
        var csv = sandbox.PathOf("results.csv");
        var results = sandbox.PathOf("results.jsonl");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--processor", "archive", "--processor", "sha256", "--save", sandbox.PathOf("saved"),
            "--cache-dir", sandbox.PathOf("cache"), "--post-processor", "csv:" + csv, "--post-processor", "jsonl:" + results);

        run.AssertExitCode(0);
        var archive = ReadResults(results)["z"].GetProperty("archive");
        Assert.Equal("zip", archive.GetProperty("format").GetString());
        Assert.Equal(new[] { "a.txt", "dir/b.txt" }, archive.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray());
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(sandbox.PathOf("saved/kept.zip")));
        Assert.Empty(Directory.EnumerateFiles(sandbox.PathOf("cache")));
        var rows = File.ReadAllLines(csv);
        Assert.Equal("id,name,url,status,size,error,archive,sha256", rows[0]);
        Assert.StartsWith($"z,kept.zip,{server.UrlOf("listing.zip")},done,{content.Length},,", rows[1], StringComparison.Ordinal);
        Assert.EndsWith("," + Digest.Sha256(content), rows[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_StagesBeforeProcessing_AndResultsPostedInBatches()
    {
        using var sandbox = new Sandbox();
        var texts = new Dictionary<string, byte[]>();
        for (var i = 0; i < 150; i++)
        {
            var name = $"gz-{i}.txt.gz";
            texts[name] = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat($"line {i} of the text\n", 50 + i)));
            using var packed = new MemoryStream();
            using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(texts[name]);
            server.Publish(name, packed.ToArray());
        }
        var list = WriteJsonList(sandbox, texts.Keys.Select(n => (n, n, server.UrlOf(n))));
        var before = hooks.Requests.Count;

        var run = await sandbox.LpAsync("fetch", "--files", list, "--process", "gunzip", "--processor", "sha256", "--processor", "counts",
            "--post-processor", "http:" + hooks.Url);

        run.AssertExitCode(0);
        var batches = hooks.Requests.Skip(before).ToList();
        Assert.Equal(2, batches.Count);
        Assert.All(batches, b => Assert.Equal("application/json", b.ContentType));
        var posted = batches.SelectMany(b => b.Body.EnumerateArray()).ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.Equal(150, posted.Count);
        foreach (var (name, text) in texts)
        {
            Assert.Equal(Digest.Sha256(text), posted[name].GetProperty("sha256").GetString());
            Assert.Equal(50 + int.Parse(name[3..name.IndexOf('.', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture),
                posted[name].GetProperty("counts").GetProperty("lines").GetInt64());
        }
    }

    [Fact]
    public async Task Fetch_SimulationWithAFixedSeed_GivesTheSameResultsTwice()
    {
        using var sandbox = new Sandbox();
        // 1,000 entries: the list (~100 KB) is longer than the reader's first buffer, so entries straddle its refills.
        var list = WriteJsonList(sandbox, Enumerable.Range(0, 1000).Select(i => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), $"s{i}", $"https://sim.invalid/file/{i}")));
        async Task<List<string>> RunAsync(int seed, string output)
        {
            var run = await sandbox.LpAsync("fetch", "--files", list, "--simulate-downloads", "--simulate-seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--simulate-size", "1K-64K", "--simulate-latency", "0ms-5ms", "--processor", "sha256", "--processor", "counts",
                "--post-processor", "jsonl:" + sandbox.PathOf(output), "--force", "--processors", "3");
            run.AssertExitCode(0);
            return File.ReadAllLines(sandbox.PathOf(output)).Order(StringComparer.Ordinal).ToList();
        }

        var first = await RunAsync(42, "a.jsonl");
        var second = await RunAsync(42, "b.jsonl");
        var other = await RunAsync(43, "c.jsonl");

        Assert.Equal(1000, first.Count);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal),
            first.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task Fetch_PluginThatCrashesOnOneFileAndHangsOnAnother_FailsThoseTwoAndRestartsForTheRest()
    {
        using var sandbox = new Sandbox();
        var served = new Dictionary<string, byte[]>();
        var names = Enumerable.Range(0, 12).Select(i => $"plug-{i}.bin").Append("plug-crash.bin").Append("plug-hang.bin").ToList();
        foreach (var name in names) served[name] = server.PublishRandom(name, 3000 + name.Length, seed: name.GetHashCode(StringComparison.Ordinal));
        var plugin = sandbox.PathOf("plugins/flaky.py");
        File.WriteAllText(plugin, """
            import json, os, sys, time
            for raw in sys.stdin:
                request = json.loads(raw)
                if request["name"] == "plug-crash.bin":
                    sys.exit(3)
                if request["name"] == "plug-hang.bin":
                    while True:
                        time.sleep(3600)
                print(json.dumps({"result": {"size": os.path.getsize(request["path"]), "pid": os.getpid()}}), flush=True)
            """);
        var list = WriteJsonList(sandbox, names.Select(n => ((string)n, n, server.UrlOf(n))));
        var results = sandbox.PathOf("results.jsonl");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--processor", "plugin:python3 " + plugin, "--processors", "2",
            "--plugin-timeout", "5", "--post-processor", "jsonl:" + results);

        run.AssertExitCode(3);
        var lines = ReadResults(results);
        Assert.Contains("exited", lines["plug-crash.bin"].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("no answer within 5s", lines["plug-hang.bin"].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("process", lines["plug-hang.bin"].GetProperty("stage").GetString());
        foreach (var name in names.Take(12))
            Assert.Equal(served[name].Length, lines[name].GetProperty("flaky").GetProperty("size").GetInt64());
        Assert.Equal(12, lines.Values.Count(l => l.GetProperty("status").GetString() == "done"));
    }

    [Fact]
    public async Task Fetch_PythonExamplePlugin_CountsLinesOfEachFile()
    {
        using var sandbox = new Sandbox();
        server.Publish("py-example.txt", "a\nbbbb\ncc\n"u8.ToArray());
        var list = WriteJsonList(sandbox, [("1", "py-example.txt", server.UrlOf("py-example.txt"))]);
        var results = sandbox.PathOf("results.jsonl");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--processor", "plugin:python3 " + Path.Combine(RepositoryRoot(), "plugins/python/line_stats.py"),
            "--post-processor", "jsonl:" + results);

        run.AssertExitCode(0);
        var result = ReadResults(results)["1"].GetProperty("line_stats");
        Assert.Equal(3, result.GetProperty("lines").GetInt64());
        Assert.Equal(4, result.GetProperty("longest_line").GetInt64());
    }

    [Fact]
    public async Task Fetch_CSharpExamplePlugin_BuiltByTheTest_GivesTheSha512OfEachFile()
    {
        using var sandbox = new Sandbox();
        var project = Path.Combine(RepositoryRoot(), "plugins/dotnet/Sha512Plugin");
        var output = sandbox.PathOf("plugin-build");
        using (var build = Process.Start(new ProcessStartInfo("dotnet", ["build", project, "-c", "Release", "--nologo", "-v", "quiet", "-o", output])
               { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            var log = build.StandardOutput.ReadToEndAsync();
            await build.WaitForExitAsync();
            Assert.True(build.ExitCode == 0, "building the plugin failed:\n" + await log);
        }
        var content = server.PublishRandom("cs-example.bin", 70_000, seed: 5);
        var list = WriteJsonList(sandbox, [("1", "cs-example.bin", server.UrlOf("cs-example.bin"))]);
        var results = sandbox.PathOf("results.jsonl");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--processor", "plugin:dotnet " + Path.Combine(output, "Sha512Plugin.dll"),
            "--post-processor", "jsonl:" + results);

        run.AssertExitCode(0);
        var result = ReadResults(results)["1"].GetProperty("Sha512Plugin");
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData(content)), result.GetProperty("sha512").GetString());
    }

    [Fact]
    public async Task Fetch_InterruptedMidRun_DrainsExits130_AndTheRerunFetchesOnlyWhatWasLeft()
    {
        using var sandbox = new Sandbox();
        var names = Enumerable.Range(0, 200).Select(i => $"int-{i}.bin").ToList();
        var served = names.ToDictionary(n => n, n => server.PublishRandom(n, 8192, seed: n.GetHashCode(StringComparison.Ordinal)));
        // Slow bodies: the run is still going when the test interrupts it.
        foreach (var name in names) server.Inject(name, Fault.Trickle(1024, TimeSpan.FromMilliseconds(15)));
        var list = WriteJsonList(sandbox, names.Select(n => (n, n, server.UrlOf(n))));
        var first = sandbox.PathOf("first.jsonl");
        string[] Args(string results) => ["fetch", "--files", list, "--post-processor", "jsonl:" + results, "--downloads", "2", "--download-queue-size", "2", "--json"];

        await using (var lp = sandbox.StartLp(Args(first)))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(first) > 0 && File.ReadAllLines(first).Length >= 5, TimeSpan.FromMinutes(2),
                () => "no 5 results in " + first, () => lp.HasExited);
            await lp.InterruptAsync();
            var stopped = await lp.WaitAsync();
            stopped.AssertExitCode(130);
            Assert.Equal("interrupted", JsonDocument.Parse(stopped.StdoutLines[^1]).RootElement.GetProperty("status").GetString());
        }
        var firstLines = ReadResults(first);
        Assert.InRange(firstLines.Count, 5, 199);
        Assert.All(firstLines.Values, l => Assert.Equal("done", l.GetProperty("status").GetString()));

        var second = sandbox.PathOf("second.jsonl");
        var rerun = await sandbox.LpAsync(Args(second));

        rerun.AssertExitCode(0);
        var secondLines = ReadResults(second);
        Assert.Equal(200, secondLines.Count);
        foreach (var name in names)
        {
            var line = secondLines[name];
            Assert.Equal(firstLines.ContainsKey(name) ? "skipped" : "done", line.GetProperty("status").GetString());
            Assert.Equal(Digest.Sha256(served[name]), line.GetProperty("sha256").GetString());
            // Each file was downloaded by exactly one of the two runs.
            Assert.Single(server.RequestsFor(name), r => r.Method == "GET");
        }
        var status = await sandbox.LpAsync("status", "--json");
        Assert.Contains(status.JsonLines, s => s.GetProperty("command").GetString() == "fetch" && s.GetProperty("status").GetString() == "interrupted");
        Assert.Contains(status.JsonLines, s => s.GetProperty("command").GetString() == "fetch" && s.GetProperty("status").GetString() == "completed");
    }

    [Fact]
    public async Task Fetch_SameUrlListedThrice_DownloadedOnceAndEveryEntryGetsTheResultUnderItsOwnName()
    {
        using var sandbox = new Sandbox();
        var content = server.PublishRandom("twice.bin", 30_000, seed: 21);
        var other = server.PublishRandom("once.bin", 1000, seed: 22);
        var list = WriteJsonList(sandbox, [("a", "first.bin", server.UrlOf("twice.bin")), ("b", "second.bin", server.UrlOf("twice.bin")),
            ("c", "once.bin", server.UrlOf("once.bin")), ("d", "third.bin", server.UrlOf("twice.bin"))]);
        var results = sandbox.PathOf("results.jsonl");
        var saved = sandbox.PathOf("saved");

        var run = await sandbox.LpAsync("fetch", "--files", list, "--post-processor", "jsonl:" + results, "--save", saved, "--json");

        run.AssertExitCode(0);
        var lines = ReadResults(results);
        Assert.Equal(4, lines.Count);
        foreach (var (id, name) in new[] { ("a", "first.bin"), ("b", "second.bin"), ("d", "third.bin") })
        {
            Assert.Equal(("done", Digest.Sha256(content)), (lines[id].GetProperty("status").GetString(), lines[id].GetProperty("sha256").GetString()));
            Assert.Equal(Digest.Sha256(content), Digest.Sha256(File.ReadAllBytes(Path.Combine(saved, name))));
        }
        Assert.Equal(Digest.Sha256(other), lines["c"].GetProperty("sha256").GetString());
        Assert.Single(server.RequestsFor("twice.bin"), r => r.Method == "GET");
    }

    [Fact]
    public async Task Fetch_InterruptedTwice_StopsAtOnceWithoutDrainingAndExits130()
    {
        using var sandbox = new Sandbox();
        var names = Enumerable.Range(0, 40).Select(i => $"twice-int-{i}.bin").ToList();
        foreach (var name in names)
        {
            server.PublishRandom(name, 64 << 10, seed: name.GetHashCode(StringComparison.Ordinal));
            // About 6 s a file: draining the 2 downloads and the 20 queued entries would take a minute or more.
            server.Inject(name, Fault.Trickle(1024, TimeSpan.FromMilliseconds(100)));
        }
        var list = WriteJsonList(sandbox, names.Select(n => (n, n, server.UrlOf(n))));
        var results = sandbox.PathOf("results.jsonl");

        await using var lp = sandbox.StartLp("fetch", "--files", list, "--post-processor", "jsonl:" + results, "--downloads", "2", "--download-queue-size", "20");
        await Poll.UntilAsync(() => names.Take(2).All(n => server.RequestsFor(n).Count > 0), TimeSpan.FromMinutes(1),
            () => "the first downloads did not start", () => lp.HasExited);
        await lp.InterruptAsync();
        await Poll.UntilAsync(() => lp.StderrSoFar.Contains("stopping:", StringComparison.Ordinal), TimeSpan.FromMinutes(1),
            () => "no 'stopping' line after the first interrupt:\n" + lp.StderrSoFar, () => lp.HasExited);
        await lp.InterruptAsync();
        var stopped = await lp.WaitAsync();

        stopped.AssertExitCode(130);
        Assert.Contains("interrupted again: stopping now", stopped.Stderr, StringComparison.Ordinal);
        // Stopped with entries still in hand: the drain would have finished them all.
        var done = File.Exists(results) ? File.ReadAllLines(results).Count(l => l.Length > 0) : 0;
        Assert.InRange(done, 0, 19);
        stopped.AssertNoStackTrace();
    }

    private static string WriteJsonList(Sandbox sandbox, IEnumerable<(string Id, string Name, string Url)> entries)
    {
        var path = sandbox.PathOf("files.json");
        using var file = File.Create(path);
        using var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        w.WriteStartArray();
        foreach (var (id, name, url) in entries)
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("name", name);
            w.WriteString("url", url);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        return path;
    }

    /// <summary>The jsonl results by id.</summary>
    private static Dictionary<string, JsonElement> ReadResults(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(l => l.GetProperty("id").GetString()!);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LoadPipe.slnx"))) return dir.FullName;
        throw new InvalidOperationException("the repository root is not above " + AppContext.BaseDirectory);
    }
}
