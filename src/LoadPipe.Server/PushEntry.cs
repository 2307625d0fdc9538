using LoadPipe.Core.Uploads;
using LoadPipe.Hosting;

namespace LoadPipe.Server;

/// <summary>Opens the push entry (<see cref="IUploads"/>) over a host's manifest, for the server.</summary>
public static class PushEntry
{
    /// <summary>The host's upload service, its session recorded as `serve` to <paramref name="destination"/>. The server
    /// disposes it when it stops (that ends its session). <paramref name="chunkSize"/>: bytes per store write
    /// (`server.ingest.chunk_size`, CHUNK_SIZE_MB); null: the engine's.</summary>
    public static async Task<IUploads> OpenAsync(LoadPipeHost host, string destination, CancellationToken cancellationToken, bool md5 = false, int? chunkSize = null)
    {
        var options = new UploadServiceOptions { Command = "serve", SessionDestination = destination, Md5 = md5 };
        if (chunkSize is { } chunk) options.ChunkSize = chunk;
        return await host.CreateUploadsAsync(options, cancellationToken).ConfigureAwait(false);
    }
}
