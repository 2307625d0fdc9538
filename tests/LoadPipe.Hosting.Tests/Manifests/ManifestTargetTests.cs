using LoadPipe.Hosting.Manifests;
using LoadPipe.Hosting.Tests.Support;
using LoadPipe.Manifest.Sqlite;

namespace LoadPipe.Hosting.Tests.Manifests;

public sealed class ManifestTargetTests
{
    [Theory]
    [InlineData("/var/lib/lp/manifest.db", ManifestKind.Sqlite)]
    [InlineData("manifest.db", ManifestKind.Sqlite)]
    [InlineData("postgres://lp:secret@db:5432/lp", ManifestKind.Postgres)]
    [InlineData("postgresql://db/lp", ManifestKind.Postgres)]
    [InlineData("Host=db;Database=lp;Username=lp", ManifestKind.Postgres)]
    public void KindOf_Target_ChoosesTheManifest(string target, ManifestKind kind) =>
        Assert.Equal(kind, ManifestTarget.KindOf(target));

    [Fact]
    public void Resolve_FlagGiven_WinsOverTheEnvironment() =>
        Assert.Equal("/flag/manifest.db", ManifestTarget.Resolve("/flag/manifest.db"));

    [Fact]
    public async Task ManifestAsync_PathTarget_OpensSqliteOnceOnFirstUse()
    {
        using var folder = new HostFolder();
        await using var host = folder.Host();
        Assert.False(File.Exists(folder["manifest.db"]));

        var first = await host.ManifestAsync();
        var second = await host.ManifestAsync();

        Assert.IsType<SqliteManifest>(first);
        Assert.Same(first, second);
        Assert.True(File.Exists(folder["manifest.db"]));
    }
}
