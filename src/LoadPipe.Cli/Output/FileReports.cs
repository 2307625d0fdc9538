using LoadPipe.Core.Transfers;

namespace LoadPipe.Cli.Output;

/// <summary>
/// Passes everything on to the progress display, and keeps the files that came back with reports (a video's id and
/// URL) for the --json summary: the first <see cref="Limit"/> of them, so a large run holds little.
/// </summary>
public sealed class FileReports(ITransferObserver inner) : ITransferObserver
{
    public const int Limit = 1000;

    private readonly List<FileResult> _collected = [];

    public IReadOnlyList<FileResult> Collected
    {
        get
        {
            lock (_collected) return _collected.ToList();
        }
    }

    public void FilePlanned(long size) => inner.FilePlanned(size);

    public void FileStarted(string name, long size, long resumedBytes) => inner.FileStarted(name, size, resumedBytes);

    public void FileProgress(string name, long sourceBytes) => inner.FileProgress(name, sourceBytes);

    public void FileFinished(FileResult result)
    {
        if (result.Reports.Count > 0)
            lock (_collected) if (_collected.Count < Limit) _collected.Add(result);
        inner.FileFinished(result);
    }

    public void Warning(string message) => inner.Warning(message);
}
