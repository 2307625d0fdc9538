using LoadPipe.Fetch.Input;

namespace LoadPipe.Fetch.Downloads;

/// <summary>
/// Gets one entry's bytes into a sink. Faults on the way are the downloader's to retry and resume; when
/// <see cref="DownloadAsync"/> returns, the sink holds every byte once, in order.
/// </summary>
public interface IDownloader
{
    /// <param name="beforeBody">Called once, before the first byte is written, with the size the source announced (-1:
    /// unknown): where the caller waits for room for it.</param>
    /// <exception cref="Core.Errors.LoadPipeException">The download failed for good (after its retries).</exception>
    Task<DownloadInfo> DownloadAsync(FetchEntry entry, Stream sink, Func<long, CancellationToken, ValueTask> beforeBody,
        CancellationToken cancellationToken = default);
}

/// <summary>What a finished download got: its bytes, and the hashes the source offered for them.</summary>
public sealed record DownloadInfo(long Bytes, IReadOnlyDictionary<string, string> Hashes);
