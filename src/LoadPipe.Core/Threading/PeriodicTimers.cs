namespace LoadPipe.Core.Threading;

/// <summary>Stopping a <see cref="PeriodicTimer"/> without an exception.</summary>
public static class PeriodicTimers
{
    /// <summary>
    /// Disposes <paramref name="timer"/> when <paramref name="cancellationToken"/> is cancelled, so that a loop on
    /// <c>WaitForNextTickAsync()</c> (given no token) ends with false. A wait given the token ends with an
    /// OperationCanceledException instead, whose stack trace the timer captures as text: in the native build the first
    /// such text of a process builds the program's method-name map, ~20 ms of CPU and a few MiB, which was a third of
    /// the CPU of a no-op `lp copy` of a few files. Dispose the registration with the timer.
    /// </summary>
    public static CancellationTokenRegistration StopOn(this PeriodicTimer timer, CancellationToken cancellationToken) =>
        cancellationToken.UnsafeRegister(static t => ((PeriodicTimer)t!).Dispose(), timer);
}
