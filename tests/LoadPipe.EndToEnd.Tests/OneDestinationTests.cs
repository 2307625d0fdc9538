using System.Globalization;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// Several `lp` processes writing one destination path at once: one writer at a time, whatever the sources, the
/// pipelines and the manifests. The final file is always one source's complete bytes, and a run that exits 0 recorded
/// the SHA-256 of what is there; every other run says the destination is busy, or waits for the same job to end.
/// </summary>
public sealed class OneDestinationTests
{
    private const int WinnerSize = 24 << 20;
    private const int LoserSize = 16 << 20;

    [Fact]
    public async Task Copy_ThreeProcessesOneDestinationOneManifest_OneWriterTheOthersFailBusy()
    {
        using var sandbox = new Sandbox();

        // The same source as the second run, through a stage that passes it on unchanged: another pipeline.
        await RaceAsync(sandbox, sandbox.Manifest, sandbox.Manifest, sandbox.Manifest, thirdUsesSecondSource: true);
    }

    [Fact]
    public async Task Copy_ThreeProcessesOneDestinationTwoManifests_OneWriterTheOthersFailBusy()
    {
        using var sandbox = new Sandbox();

        await RaceAsync(sandbox, sandbox.Manifest, sandbox.PathOf("other/manifest.db"), sandbox.Manifest, thirdUsesSecondSource: false);
    }

    [Fact]
    public async Task Copy_SameJobTwiceAtOnce_SecondWaitsForTheFirstAndNeverReportsAMissingFile()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in/big.bin");
        var bytes = Digest.WriteRandomFile(source, WinnerSize, seed: 1101);
        var target = sandbox.PathOf("out/big.bin");
        string[] copy = ["copy", source, target, "--json"];

        await using var first = sandbox.StartLp([.. copy, "--bwlimit", "4M", "--chunk-size", "1M"]);
        await Poll.UntilAsync(() => Poll.LengthOf(Sandbox.PartialOf(target)) > 0, LpProcess.DefaultTimeout,
            () => "the first run never wrote to its partial file", () => first.HasExited);
        var second = await sandbox.LpAsync(copy);
        // Looked at as soon as the second run says it is done, while the first one may still be ending.
        var atSecondsEnd = File.Exists(target) ? Digest.Sha256OfFile(target) : "(no file)";
        var firstResult = await first.WaitAsync();

        second.AssertExitCode(0);
        firstResult.AssertExitCode(0);
        Assert.True(atSecondsEnd == Digest.Sha256(bytes), $"the second run ended with {atSecondsEnd} at the destination\n{second}");
        Assert.Equal("completed", second.Summary.Status);
        Assert.Equal(WinnerSize, second.Summary.Bytes);
        Assert.Equal(0, second.Summary.FilesFailed);
        Assert.Equal(WinnerSize, firstResult.Summary.BytesSent);
        var transfer = Assert.Single(await ManifestProbe.TransfersAsync(sandbox, firstResult.Summary.Session));
        Assert.Equal(Digest.Sha256(bytes), transfer.GetProperty("sha256").GetString());
    }

    /// <summary>The first run reads stdin, so it holds the destination for as long as the test feeds it: the other two
    /// start once it has written to its partial file, and end while it is still writing. The third runs on
    /// <paramref name="firstManifest"/>'s manifest or its own; each run's manifest is given.</summary>
    private static async Task RaceAsync(Sandbox sandbox, string firstManifest, string secondManifest, string thirdManifest, bool thirdUsesSecondSource)
    {
        var target = sandbox.PathOf("out/x.bin");
        var winner = Digest.WriteRandomFile(sandbox.PathOf("in/stdin.bin"), WinnerSize, seed: 1102);
        var secondSource = sandbox.PathOf("in/b.bin");
        var second = Digest.WriteRandomFile(secondSource, LoserSize, seed: 1103);
        var thirdSource = thirdUsesSecondSource ? secondSource : sandbox.PathOf("in/c.bin");
        var third = thirdUsesSecondSource ? second : Digest.WriteRandomFile(thirdSource, LoserSize + 1, seed: 1104);
        string[] thirdStages = thirdUsesSecondSource ? ["--process", "sha256"] : [];
        var sources = new[] { winner, second, third }.Select(b => Digest.Sha256(b)).ToHashSet();

        var runs = new List<(LpResult Result, string Manifest)>();
        await using (var first = LpProcess.Start(sandbox, ["push", target, "--json", "--chunk-size", "1M", "--manifest", firstManifest], redirectStdin: true))
        {
            await first.StandardInput.WriteAsync(winner.AsMemory(0, 4 << 20));
            await first.StandardInput.FlushAsync();
            await Poll.UntilAsync(() => Poll.LengthOf(Sandbox.PartialOf(target)) > 0, LpProcess.DefaultTimeout,
                () => "the first run never wrote to its partial file", () => first.HasExited);

            await using (var b = LpProcess.Start(sandbox, ["copy", secondSource, target, "--json", "--manifest", secondManifest]))
            await using (var c = LpProcess.Start(sandbox, ["copy", thirdSource, target, "--json", "--manifest", thirdManifest, .. thirdStages]))
            {
                runs.Add((await b.WaitAsync(), secondManifest));
                runs.Add((await c.WaitAsync(), thirdManifest));
            }

            await first.StandardInput.WriteAsync(winner.AsMemory(4 << 20));
            first.StandardInput.Close();
            runs.Insert(0, (await first.WaitAsync(), firstManifest));
        }

        var final = Digest.Sha256OfFile(target);
        Assert.True(sources.Contains(final), $"the destination ({final}) is none of the sources' bytes\n{string.Join("\n", runs.Select(r => r.Result))}");
        foreach (var (run, manifest) in runs)
        {
            if (run.ExitCode == 0)
            {
                var transfer = Assert.Single((await LpProcess.RunAsync(sandbox, "status", run.Summary.Session.ToString(CultureInfo.InvariantCulture),
                    "--json", "--manifest", manifest)).AssertExitCode(0).JsonLines);
                Assert.True(transfer.GetProperty("sha256").GetString() == final, $"a run that succeeded recorded another file than the one there\n{run}");
            }
            else
            {
                run.AssertExitCode(1);
                Assert.Contains("destination busy", run.AssertOneErrorLine(), StringComparison.Ordinal);
                Assert.Equal(1, run.Summary.FilesFailed);
            }
        }
        // The run that held the destination throughout is the one that wrote it.
        runs[0].Result.AssertExitCode(0);
        Assert.Equal(Digest.Sha256(winner), final);
        Assert.False(File.Exists(Sandbox.PartialOf(target)), "a partial file was left behind");
    }
}
