using LoadPipe.Core.Manifest;
using LoadPipe.Manifest.Sqlite;

namespace LoadPipe.Manifest.Tests;

public sealed class SqliteManifestTests : ManifestContractTests
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lp-manifest-test-").FullName;

    private string DatabasePath => Path.Combine(_folder, "m.db");

    protected override async Task<IManifest> OpenAsync(TimeProvider? time = null) => await SqliteManifest.OpenAsync(DatabasePath, time);

    protected override (string Backend, string Target) OtherProcessTarget => ("sqlite", DatabasePath);

    public override Task DisposeAsync()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TryLock_HolderProcessGone_IsTakenOver()
    {
        await using var m = await OpenAsync();
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + DatabasePath))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = $"INSERT INTO locks(lock_id, pid, pid_start) VALUES ({Key.LockId}, 2147483000, 1)";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var taken = await m.TryLockAsync(Key);

        Assert.NotNull(taken);
    }
}
