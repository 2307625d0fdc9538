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
    /// <summary>The stage specs joined: part of each transfer's key.</summary>
    public string PipelineSpec { get; } = string.Join(" | ", Stages.Select(s => s.Spec));

    /// <summary>How the whole pipeline resumes: the weakest of its stages (no stages: direct).</summary>
    public StageResume Resume { get; } = Stages.Count == 0 ? StageResume.Framed : Stages.Max(s => s.Resume);
}
