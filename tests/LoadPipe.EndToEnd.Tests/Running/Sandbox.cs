namespace LoadPipe.EndToEnd.Tests.Running;

/// <summary>
/// A test's own temporary folder and manifest, so tests never see each other's state and may run in parallel.
/// Deleted with everything in it at the end of the test.
/// </summary>
public sealed class Sandbox : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("lp-e2e-");

    public string Root => _root.FullName;

    /// <summary>The manifest every lp run of this test uses (pass it with --manifest).</summary>
    public string Manifest => PathOf("state/manifest.db");

    /// <summary>A path below <see cref="Root"/>; its folder exists.</summary>
    public string PathOf(string relative)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Where lp keeps a local file while writing it: ".NAME.lp-partial" beside it.</summary>
    public static string PartialOf(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + ".lp-partial");

    /// <summary>lp with this sandbox's manifest, to its end.</summary>
    public Task<LpResult> LpAsync(params string[] args) => LpProcess.RunAsync(this, [.. args, "--manifest", Manifest]);

    /// <summary>lp with this sandbox's manifest, left running.</summary>
    public LpProcess StartLp(params string[] args) => LpProcess.Start(this, [.. args, "--manifest", Manifest]);

    public void Dispose()
    {
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A process the test killed may still be closing a file; the OS cleans /tmp.
        }
    }
}
