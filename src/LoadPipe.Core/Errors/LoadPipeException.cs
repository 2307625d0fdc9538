namespace LoadPipe.Core.Errors;

/// <summary>What kind of failure an error is: decides retries, exit codes and the one line the user sees.</summary>
public enum ErrorKind
{
    /// <summary>Worth retrying: network faults, 408, 429, 5xx.</summary>
    Transient,
    /// <summary>Retrying will not help: the request itself is wrong.</summary>
    Permanent,
    /// <summary>The object or container does not exist.</summary>
    NotFound,
    /// <summary>Credentials missing, rejected or lacking a permission.</summary>
    Auth,
    /// <summary>What the destination holds does not match what the manifest recorded.</summary>
    ResumeMismatch,
    /// <summary>The source changed under a transfer (size, version or modified time).</summary>
    SourceChanged,
    /// <summary>A bad command line or configuration value.</summary>
    Usage,
    /// <summary>The destination has no room left.</summary>
    NoSpace,
    /// <summary>Bytes do not match the hash the source or destination reported.</summary>
    Integrity,
    /// <summary>The destination's quota for the day is spent (YouTube): the run starts no new writes after it.</summary>
    Quota,
    /// <summary>Another lp process is writing the same destination (another source or pipeline, or the same transfer
    /// through another manifest): nothing was written, and the file counts as failed, for `lp retry` once it is done.</summary>
    Busy,
}

/// <summary>
/// The one exception type LoadPipe code throws on purpose. <see cref="Exception.Message"/> is a single line fit
/// for the user and never holds a secret.
/// </summary>
public class LoadPipeException : Exception
{
    public LoadPipeException(ErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public ErrorKind Kind { get; }

    /// <summary>How long the server asked us to wait before the next try (Retry-After), if it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public bool IsTransient => Kind == ErrorKind.Transient;
}

/// <summary>Thrown when the source's identity differs from the one a transfer started with.</summary>
public sealed class SourceChangedException(string message) : LoadPipeException(ErrorKind.SourceChanged, message);

/// <summary>Thrown when the destination's confirmed bytes do not match the manifest's record of them.</summary>
/// <param name="goodChunks">How many of the confirmed chunks, from the first, did match: a resume may keep them.</param>
public sealed class ResumeMismatchException(string message, int goodChunks = 0) : LoadPipeException(ErrorKind.ResumeMismatch, message)
{
    public int GoodChunks { get; } = goodChunks;
}

/// <summary>Thrown when another lp process sharing the manifest is working on the same transfer (same source,
/// destination and pipeline). The engine puts the file aside and comes back to it at the end of the run, waiting then.</summary>
public sealed class TransferInProgressException(string message) : LoadPipeException(ErrorKind.Busy, message);

/// <summary>Thrown by <see cref="Storage.IServerSideCopier"/> when it cannot copy this pair: the named fallback to streaming.</summary>
public sealed class CantCopyException(string message) : LoadPipeException(ErrorKind.Permanent, message);
