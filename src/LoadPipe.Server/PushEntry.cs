using LoadPipe.Core.Errors;
using LoadPipe.Core.Uploads;
using LoadPipe.Hosting;

namespace LoadPipe.Server;

/// <summary>Opens the push entry (<see cref="IUploads"/>) over a host's manifest, for the server.</summary>
public static class PushEntry
{
    public static Task<IUploads> OpenAsync(LoadPipeHost host, CancellationToken cancellationToken) =>
        throw new LoadPipeException(ErrorKind.Transient, "the push entry (issue 12) is not in this build yet");
}
