namespace LoadPipe.Core.Manifest;

/// <summary>Where a session (one run) stands. Stored in the manifest and printed (`lp sessions`, `lp status`, --json,
/// the completion webhook) by its <see cref="SessionStatuses.Name"/>, the lower-case word, which never changes.</summary>
public enum SessionStatus
{
    /// <summary>Started and not ended; shown as <see cref="Interrupted"/> once its process is gone (see
    /// <see cref="ManifestQueries.WithLivenessAsync"/>).</summary>
    Running,

    /// <summary>Every file copied or skipped.</summary>
    Completed,

    /// <summary>Some files failed, not all.</summary>
    Partial,

    /// <summary>Every file failed, or the run could not go on (the manifest failed).</summary>
    Failed,

    /// <summary>Stopped before its end (Ctrl-C, a signal, or killed).</summary>
    Interrupted,
}

/// <summary>The one mapping between <see cref="SessionStatus"/> and the words stored and printed for it.</summary>
public static class SessionStatuses
{
    public static string Name(this SessionStatus status) => status switch
    {
        SessionStatus.Running => "running",
        SessionStatus.Completed => "completed",
        SessionStatus.Partial => "partial",
        SessionStatus.Failed => "failed",
        SessionStatus.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>The status stored as <paramref name="name"/>.</summary>
    /// <exception cref="FormatException">The word is none of the statuses (a manifest written by a newer lp).</exception>
    public static SessionStatus Parse(string name) => name switch
    {
        "running" => SessionStatus.Running,
        "completed" => SessionStatus.Completed,
        "partial" => SessionStatus.Partial,
        "failed" => SessionStatus.Failed,
        "interrupted" => SessionStatus.Interrupted,
        _ => throw new FormatException($"unknown session status '{name}'"),
    };

    /// <summary>The status of a run that reached its end with <paramref name="failed"/> of <paramref name="files"/> failed.</summary>
    public static SessionStatus Of(int failed, int files) =>
        failed == 0 ? SessionStatus.Completed : failed >= files ? SessionStatus.Failed : SessionStatus.Partial;
}
