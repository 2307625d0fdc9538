using LoadPipe.Core.Manifest;
using LoadPipe.Manifest.Postgres;
using LoadPipe.Manifest.Sqlite;

namespace LoadPipe.Manifest.Tests.Support;

/// <summary>
/// The entry point of this assembly when it runs as a process of its own (<see cref="LockHolder"/> starts it): opens
/// a manifest, takes one transfer lock, says "held" or "refused", and keeps the lock until its standard input closes
/// or it is killed. The test runner loads the assembly as a library and never calls this.
/// </summary>
internal static class LockHolderProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["hold-lock", var backend, var target, var source, var destination, var pipeline])
        {
            await Console.Error.WriteLineAsync("usage: hold-lock sqlite|postgres TARGET SOURCE DESTINATION PIPELINE");
            return 2;
        }
        await using IManifest manifest = backend == "sqlite"
            ? await SqliteManifest.OpenAsync(target)
            : await PostgresManifest.OpenAsync(target);
        await using var held = await manifest.TryLockAsync(new TransferKey(source, destination, pipeline));
        Console.WriteLine(held is null ? "refused" : "held");
        await Console.In.ReadLineAsync();
        return 0;
    }
}
