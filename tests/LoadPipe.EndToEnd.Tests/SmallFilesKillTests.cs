using System.Diagnostics;
using System.Security.Cryptography;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Running;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// kill -9 in the middle of a copy of many small files, which go through the group commit (staged, fsynced together,
/// renamed, recorded in one transaction per batch): every file recorded complete is at its final name with the bytes
/// recorded, every final name holds the source's bytes, and the next run finishes the rest.
/// </summary>
public sealed class SmallFilesKillTests(ITestOutputHelper output)
{
    /// <summary>Issue 17's 100,000 files: about 390 batches of 256, killed after 40. About 45 s with the native build on
    /// 2 cores at load 11, most of it creating and removing the 200,000 files (docs/benchmarks.md, "The kill -9 test at
    /// 100,000 files"). LP_TEST_SMALL_KILL_FILES sets another count (bench/small-kill.sh).</summary>
    private static readonly int FileCount = int.TryParse(Environment.GetEnvironmentVariable("LP_TEST_SMALL_KILL_FILES"), out var n) ? n : 100_000;

    private const int Folders = 200;

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private void Phase(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,7:0.00} s  {what}");

    [Fact]
    public async Task Copy_KilledAmongThousandsOfSmallFiles_RecordedFilesAreIntactAndTheNextRunFinishesTheRest()
    {
        using var sandbox = new Sandbox();
        var source = sandbox.PathOf("in");
        var destination = sandbox.PathOf("out");
        var expected = WriteSmallFiles(source);
        Phase($"{FileCount} source files written");

        await using (var lp = sandbox.StartLp("copy", source, destination + "/", "--transfers", "16", "--json"))
        {
            // Killed once a few batches are recorded, while many more are still to come.
            await Poll.UntilAsync(() => CompletedCount(sandbox) >= FileCount / 10, TimeSpan.FromMinutes(3),
                () => $"{CompletedCount(sandbox)} files recorded complete, waiting for {FileCount / 10} (lp exited: {lp.HasExited})",
                giveUp: () => lp.HasExited);
            Phase($"{CompletedCount(sandbox)} recorded complete: kill");
            var killed = await lp.KillAsync();
            Assert.True(killed.ExitCode != 0, $"lp finished before it could be killed\n{killed}");
        }

        var recorded = CompletedFiles(sandbox);
        Assert.InRange(recorded.Count, FileCount / 10, FileCount - 1);
        foreach (var (path, sha256) in recorded)
        {
            // Recorded complete: at its final name, with the bytes recorded, which are the source's.
            Assert.True(File.Exists(path), $"{path} is recorded complete but is not at its final name");
            var relative = Path.GetRelativePath(destination, path);
            Assert.Equal(expected[relative], sha256);
            Assert.Equal(expected[relative], Digest.Sha256OfFile(path));
        }
        // A file renamed but not yet recorded when the kill came is whole too: no final name ever holds other bytes.
        foreach (var path in FinalNames(destination))
            Assert.Equal(expected[Path.GetRelativePath(destination, path)], Digest.Sha256OfFile(path));

        Phase($"{recorded.Count} recorded files and every final name checked");
        var run = await sandbox.LpAsync("copy", source, destination + "/", "--transfers", "16", "--json");

        Phase("re-run done");
        run.AssertExitCode(0);
        Assert.Equal(("completed", FileCount, 0), (run.Summary.Status, run.Summary.Files, run.Summary.FilesFailed));
        Assert.True(run.Summary.FilesSkipped >= recorded.Count, $"{recorded.Count} files were recorded complete, but only {run.Summary.FilesSkipped} were skipped\n{run}");
        var copied = FinalNames(destination).ToList();
        Assert.Equal(FileCount, copied.Count);
        Assert.All(copied, path => Assert.Equal(expected[Path.GetRelativePath(destination, path)], Digest.Sha256OfFile(path)));
        Assert.Empty(Directory.EnumerateFiles(destination, "*" + ".lp-partial", SearchOption.AllDirectories));
        Assert.Equal(FileCount, CompletedCount(sandbox));
        Phase("every file checked");
        sandbox.Dispose();
        Phase($"the sandbox removed ({2 * FileCount} files)");
    }

    /// <summary>Files of 0 to 300 bytes, each with content of its own, in <see cref="Folders"/> folders; their SHA-256 by relative path.</summary>
    private static Dictionary<string, string> WriteSmallFiles(string root)
    {
        var expected = new Dictionary<string, string>(FileCount);
        var random = new Random(17);
        for (var i = 0; i < FileCount; i++)
        {
            var relative = Path.Combine($"d{i % Folders:D3}", $"f{i:D6}.txt");
            var bytes = new byte[i % 50 == 0 ? 0 : random.Next(1, 300)];
            random.NextBytes(bytes);
            var path = Path.Combine(root, relative);
            if (i < Folders) Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            expected[relative] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }
        return expected;
    }

    private static IEnumerable<string> FinalNames(string destination) =>
        Directory.Exists(destination)
            ? Directory.EnumerateFiles(destination, "*", SearchOption.AllDirectories).Where(p => !p.EndsWith(".lp-partial", StringComparison.Ordinal))
            : [];

    /// <summary>Transfers the manifest records as completed, read directly (read-only, beside the running lp, as
    /// <see cref="ManifestProbe"/> does); 0 before the manifest exists.</summary>
    private static long CompletedCount(Sandbox sandbox)
    {
        if (!File.Exists(sandbox.Manifest)) return 0;
        try
        {
            using var connection = Open(sandbox);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM transfers WHERE status = 'Completed'";
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return 0; // the schema is not there yet
        }
    }

    /// <summary>Each completed transfer's destination path (its key is file://HOST/path) and recorded SHA-256.</summary>
    private static List<(string Path, string Sha256)> CompletedFiles(Sandbox sandbox)
    {
        using var connection = Open(sandbox);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT destination, sha256 FROM transfers WHERE status = 'Completed'";
        using var reader = command.ExecuteReader();
        var files = new List<(string, string)>();
        while (reader.Read())
        {
            var key = reader.GetString(0);
            files.Add((key[key.IndexOf('/', "file://".Length)..], reader.GetString(1)));
        }
        return files;
    }

    private static SqliteConnection Open(Sandbox sandbox)
    {
        var connection = new SqliteConnection($"Data Source={sandbox.Manifest};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }
}
