using LoadPipe.Hosting;

namespace LoadPipe.Hosting.Tests.Support;

/// <summary>A fresh folder per test holding a config file and a SQLite manifest, and hosts made on them.</summary>
public sealed class HostFolder : IDisposable
{
    public HostFolder(string config = "")
    {
        Path = Directory.CreateTempSubdirectory("lp-hosting-").FullName;
        File.WriteAllText(this["config.yaml"], config);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    /// <summary>A host on this folder's config and manifest; no LP_* variable of the machine running the tests reaches it.</summary>
    public LoadPipeHost Host(bool allowExec = false, Func<string, string?>? environment = null) => LoadPipeHost.Create(new LoadPipeHostSettings
    {
        ConfigPath = this["config.yaml"],
        Manifest = this["manifest.db"],
        AllowExec = allowExec,
        Environment = environment ?? (_ => null),
    });

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
