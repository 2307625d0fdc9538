using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Google;
using LoadPipe.Storage.GoogleDrive;
using LoadPipe.Storage.Http;
using LoadPipe.Storage.Local;
using LoadPipe.Storage.S3;
using LoadPipe.Storage.Tus;
using LoadPipe.Storage.YouTube;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Hosting.Adapters;

/// <summary>What an adapter's factory may take from the host: one instance of each per process.</summary>
/// <param name="Manifest">The host's manifest, opened on first use (adapters keep their state there: YouTube its quota ledger, Google remotes the account they sign in to).</param>
public sealed record AdapterServices(ILoggerFactory Loggers, GoogleServices Google, Func<CancellationToken, Task<IManifest>> Manifest);

/// <summary>
/// The adapter registry: every storage type a front can resolve, in one list. A new adapter is its project, a
/// reference in LoadPipe.Hosting.csproj and one line here (docs/adding-an-adapter.md); every front (the CLI, a
/// server, a worker) then has it.
/// </summary>
public static class StorageAdapters
{
    public static IReadOnlyList<IStorageFactory> All(AdapterServices services) =>
    [
        new LocalStorageFactory(),
        new StdioStorageFactory(),
        new HttpStorageFactory(),
        new S3StorageFactory(services.Loggers),
        new GoogleDriveStorageFactory(services.Google, services.Loggers, services.Manifest),
        new YouTubeStorageFactory(services.Google, services.Manifest, services.Loggers),
        new TusStorageFactory(services.Loggers, services.Manifest),
    ];
}
