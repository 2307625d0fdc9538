using LoadPipe.Core.Manifest;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Manifest.Postgres;
using LoadPipe.Manifest.Sqlite;

namespace LoadPipe.Hosting.Manifests;

/// <summary>Which manifest a target names.</summary>
public enum ManifestKind
{
    /// <summary>A file path: one SQLite database, for the processes of one machine.</summary>
    Sqlite,

    /// <summary>A postgres:// or postgresql:// URL, or a Host=... connection string: shared by many machines.</summary>
    Postgres,
}

/// <summary>Opens the manifest a front was given: --manifest, else LP_MANIFEST, else the default SQLite file.</summary>
public static class ManifestTarget
{
    /// <summary>The target to open: <paramref name="flag"/> when given, else LP_MANIFEST, else $XDG_DATA_HOME/loadpipe/manifest.db.</summary>
    public static string Resolve(string? flag) => EnvironmentSettings.ManifestPath(flag);

    public static ManifestKind KindOf(string target) => PostgresManifest.Recognizes(target) ? ManifestKind.Postgres : ManifestKind.Sqlite;

    /// <summary>Opens (and migrates) the manifest at <paramref name="target"/>. Errors are one line, with no password.</summary>
    public static async Task<IManifest> OpenAsync(string target, TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        KindOf(target) == ManifestKind.Postgres
            ? await PostgresManifest.OpenAsync(target, time, cancellationToken).ConfigureAwait(false)
            : await SqliteManifest.OpenAsync(target, time, cancellationToken).ConfigureAwait(false);
}
