using LoadPipe.Core.Manifest;
using LoadPipe.Core.Stages;
using Microsoft.Extensions.Logging;
using Polly;

namespace LoadPipe.Core.Transfers;

/// <summary>What every file of one run shares.</summary>
internal sealed record TransferContext(
    IManifest Manifest,
    TransferOptions Options,
    IReadOnlyList<IStage> Stages,
    ResiliencePipeline Retry,
    BandwidthLimiter? Limiter,
    ITransferObserver Observer,
    Caching.DiskCache? Cache,
    ILogger Logger,
    long SessionId)
{
    /// <summary>The clock a run waits on (for a transfer another process holds).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The run is of one file (its source is a file): the observer hears when that file commits
    /// (<see cref="ITransferObserver.OnlyFileCommitting"/>).</summary>
    public bool OneFile { get; init; }

    /// <summary>The stage specs joined: part of each transfer's key.</summary>
    public string PipelineSpec { get; } = string.Join(" | ", Stages.Select(s => s.Spec));

    /// <summary>Set once when a destination's quota runs out (<see cref="Errors.ErrorKind.Quota"/>): from then on no
    /// file starts a new write; transfers already under way, and resumes of paid-for sessions, go on.</summary>
    public RunStop Stop { get; } = new();

    /// <summary>The run's counts as they happen (bytes sent counted chunk by chunk, failed files' included).</summary>
    public SessionTally Tally { get; } = new();

    /// <summary>How the whole pipeline resumes: the weakest of its stages (no stages: framed).</summary>
    public StageResume Resume { get; } = Stages.Count == 0 ? StageResume.Framed : Stages.Max(s => s.Resume);
}

/// <summary>Why a run stopped starting new writes, once set; null while it has not.</summary>
internal sealed class RunStop
{
    private string? _reason;

    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>Keeps the first reason; later ones are the same stop seen by other files.</summary>
    public void Set(string reason) => Interlocked.CompareExchange(ref _reason, reason, null);
}
