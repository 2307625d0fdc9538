namespace LoadPipe.Core.Transfers;

/// <summary>A run stopped by its cancellation token (Ctrl-C, SIGTERM), with what it had done by then: its session is
/// recorded as interrupted, everything confirmed stays confirmed.</summary>
public sealed class TransferInterruptedException(TransferSummary summary, CancellationToken cancellationToken)
    : OperationCanceledException("interrupted", null, cancellationToken)
{
    /// <summary>The run's counts when it stopped; its status is "interrupted".</summary>
    public TransferSummary Summary { get; } = summary;
}
