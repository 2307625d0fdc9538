using System.Net;
using LoadPipe.Core.Errors;
using Polly;
using Polly.Retry;

namespace LoadPipe.Core.Resilience;

/// <summary>Retries transient faults with exponential backoff and jitter, honouring a server's Retry-After.</summary>
public static class RetryPolicy
{
    public static ResiliencePipeline Create(int retries, TimeSpan delay, TimeSpan maxDelay, TimeProvider timeProvider,
        Action<Exception, int, TimeSpan>? onRetry = null)
    {
        if (retries == 0) return ResiliencePipeline.Empty;
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        return builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e)),
            MaxRetryAttempts = retries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = delay,
            MaxDelay = maxDelay,
            DelayGenerator = args =>
                ValueTask.FromResult(args.Outcome.Exception is LoadPipeException { RetryAfter: { } after }
                    ? (TimeSpan?)(after > maxDelay ? maxDelay : after)
                    : null),
            OnRetry = args =>
            {
                onRetry?.Invoke(args.Outcome.Exception!, args.AttemptNumber + 1, args.RetryDelay);
                return default;
            },
        }).Build();
    }

    /// <summary>Network faults, timeouts, 408, 429 and 5xx: worth another try. Anything we named is asked.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        LoadPipeException lp => lp.IsTransient,
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException h => IsTransientStatus(h.StatusCode!.Value),
        TimeoutException => true,
        OperationCanceledException => false,
        IOException => true,
        _ => false,
    };

    public static bool IsTransientStatus(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;
}
