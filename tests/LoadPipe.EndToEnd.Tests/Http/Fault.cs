namespace LoadPipe.EndToEnd.Tests.Http;

/// <summary>What the server does to one request instead of (or while) serving it.</summary>
public sealed record Fault
{
    /// <summary>Serve normally: lets one request through before the faults that follow it.</summary>
    public static Fault None { get; } = new();

    public int? Status { get; private init; }
    public int? RetryAfterSeconds { get; private init; }
    public long? CutAfterBytes { get; private init; }
    public byte[]? ReplaceWith { get; private init; }
    public long? StallAfterBytes { get; private init; }
    public int? TrickleBytes { get; private init; }
    public TimeSpan TricklePause { get; private init; }

    /// <summary>Answer with this status, and a Retry-After in seconds when given.</summary>
    public static Fault Respond(int status, int? retryAfterSeconds = null) => new() { Status = status, RetryAfterSeconds = retryAfterSeconds };

    /// <summary>Serve normally but drop the connection after this many body bytes; with <paramref name="replaceWith"/>,
    /// the file changes to it (new validators) at that moment.</summary>
    public static Fault CutAfter(long bytes, byte[]? replaceWith = null) => new() { CutAfterBytes = bytes, ReplaceWith = replaceWith };

    /// <summary>Serve normally but stop sending after this many body bytes, keeping the connection open.</summary>
    public static Fault StallAfter(long bytes) => new() { StallAfterBytes = bytes };

    /// <summary>Serve the whole body, but <paramref name="bytes"/> at a time, each sent at once and followed by
    /// <paramref name="pause"/>: a slow server that never goes quiet for long.</summary>
    public static Fault Trickle(int bytes, TimeSpan pause) => new() { TrickleBytes = bytes, TricklePause = pause };
}
