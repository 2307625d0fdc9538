using LoadPipe.Core.Manifest;

namespace LoadPipe.Core.Transfers;

/// <summary>Hears what a run does, for progress bars and logs. Called from many threads at once.</summary>
public interface ITransferObserver
{
    /// <summary>The planner found one more file to handle (the scan runs ahead of the transfers).</summary>
    void FilePlanned(long size) { }

    void FileStarted(string name, long size, long resumedBytes) { }

    /// <summary>Source bytes handled so far for this file (including bytes replayed or skipped on resume).</summary>
    void FileProgress(string name, long sourceBytes) { }

    void FileFinished(FileResult result) { }

    /// <summary>A run of one file (its source is a file, not a folder) has read and sent all of it and is committing
    /// it: what is left is the commit (the destination's fsync, a rename) and the records. The file is not complete
    /// yet: <see cref="FileFinished"/> says when it is. Not called for the files of a folder.</summary>
    void OnlyFileCommitting() { }

    void Warning(string message) { }
}

public enum FileOutcome { Copied, Skipped, Failed }

/// <summary>What happened to one file.</summary>
public sealed record FileResult(string Source, string Destination, FileOutcome Outcome)
{
    public long Bytes { get; init; }
    public long BytesSent { get; init; }
    public long BytesResumed { get; init; }
    public string? Md5 { get; init; }
    public string? Sha256 { get; init; }
    public string? Error { get; init; }
    public Errors.ErrorKind? ErrorKind { get; init; }
    public IReadOnlyDictionary<string, string> Reports { get; init; } = new Dictionary<string, string>();
}

/// <summary>What a whole run did: the CLI's --json line.</summary>
public sealed record TransferSummary
{
    /// <summary>completed, partial (some files failed) or failed (all failed, or nothing could start).</summary>
    public required SessionStatus Status { get; init; }
    public int Files { get; init; }
    public int FilesSkipped { get; init; }
    public int FilesFailed { get; init; }
    public long Bytes { get; init; }
    public long BytesSent { get; init; }
    public long BytesResumed { get; init; }
    public double DurationSeconds { get; init; }
    public long Session { get; init; }
    /// <summary>Why the run stopped starting new files (a destination's daily quota), or null.</summary>
    public string? StopReason { get; init; }
    /// <summary>The first few failures, for the user; the manifest has all of them.</summary>
    public IReadOnlyList<FileResult> Failures { get; init; } = [];
}
