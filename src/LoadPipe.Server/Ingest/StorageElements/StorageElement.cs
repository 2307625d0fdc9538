using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Storage;
using LoadPipe.Hosting.Configuration;
using Polly;
using Polly.CircuitBreaker;

namespace LoadPipe.Server.Ingest.StorageElements;

/// <summary>
/// A storage element at run time: its configuration, its location (resolved once), the bytes it holds, its health and
/// its circuit breaker. Every call to the element's store goes through <see cref="RunAsync{T}"/>, so that its failures
/// open the breaker; a health check runs through it too.
/// </summary>
public sealed class StorageElement
{
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _breaker = new();
    private readonly CircuitBreakerManualControl _control = new();
    private readonly int _successThreshold;

    /// <summary>1 when the element's last call failed: the next failure continues a run of failures.</summary>
    private int _lastFailed;
    private long _usedBytes;
    private int _passedInARow;

    public StorageElement(StorageElementConfig config, Location location, IngestSettings settings, TimeProvider time)
    {
        Config = config;
        Location = location;
        _successThreshold = settings.CircuitBreakerSuccessThreshold;
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (settings.CircuitBreakerEnabled)
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // Every call failing, at least FailureThreshold of them within the window: the threshold's failures in a row,
                // because the window is emptied at the first failure after a success (RunAsync): earlier successes would
                // otherwise keep the ratio under 1 for the whole sampling duration, and an element that had worked
                // would never be cut off.
                FailureRatio = 1.0,
                MinimumThroughput = settings.CircuitBreakerFailureThreshold,
                SamplingDuration = TimeSpan.FromMinutes(5),
                BreakDuration = settings.CircuitBreakerTimeout,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsElementFailure),
                StateProvider = _breaker,
                ManualControl = _control,
            });
        _pipeline = builder.Build();
    }

    public StorageElementConfig Config { get; }
    public string Id => Config.Id;
    public Location Location { get; }

    /// <summary>Uploads go only to `edit` and `rw` elements.</summary>
    public bool Writable => Config.Mode is "edit" or "rw";

    /// <summary>Files are deleted only from `edit` elements.</summary>
    public bool Editable => Config.Mode == "edit";

    public long UsedBytes => Interlocked.Read(ref _usedBytes);

    /// <summary>False once a health check failed, until <see cref="IngestSettings.CircuitBreakerSuccessThreshold"/> pass in a row.
    /// An element not checked yet counts as healthy.</summary>
    public bool Healthy { get; private set; } = true;

    public DateTimeOffset? LastCheckAt { get; private set; }
    public string? LastError { get; private set; }

    /// <summary>closed, open, half_open or isolated (the seed's circuit breaker states).</summary>
    public string BreakerState => _breaker.CircuitState switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        CircuitState.Isolated => "isolated",
        _ => "closed",
    };

    /// <summary>Can take a new file now: writable, healthy, breaker not open, and room left when it has a capacity.</summary>
    public bool Available => Writable && Healthy && _breaker.CircuitState is CircuitState.Closed or CircuitState.HalfOpen
        && (Config.Capacity is not { } capacity || UsedBytes < capacity);

    /// <summary>How full it is, 0 to 1; 0 without a capacity.</summary>
    public double Fill => Config.Capacity is { } capacity and > 0 ? (double)UsedBytes / capacity : 0;

    public void AddUsed(long bytes) => Interlocked.Add(ref _usedBytes, bytes);

    /// <summary>Runs a call to the element's store through its circuit breaker; an open breaker fails it at once
    /// (<see cref="BrokenCircuitException"/>).</summary>
    public ValueTask<T> RunAsync<T>(Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(async ct =>
        {
            try
            {
                var result = await call(ct).ConfigureAwait(false);
                Volatile.Write(ref _lastFailed, 0);
                return result;
            }
            catch (Exception e) when (IsElementFailure(e))
            {
                // The first failure after a success starts a new run: closing the closed breaker empties its window
                // (Polly resets its health metrics on close), and then this failure is counted.
                if (Interlocked.Exchange(ref _lastFailed, 1) == 0 && _breaker.CircuitState == CircuitState.Closed)
                    await _control.CloseAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }, cancellationToken);

    /// <summary>Checks that the store answers: a writable element's folder exists (made when missing), a read-only
    /// one's can be asked about. Passes through the breaker, so a dead element's checks keep it open.</summary>
    public async Task CheckAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await RunAsync(async ct =>
            {
                if (Writable && Location.Storage is IWritableStorage writable) await writable.CreateFolderAsync(Location.Path, ct).ConfigureAwait(false);
                _ = await Location.Storage.StatAsync(Location.Path, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            _passedInARow++;
            if (!Healthy && _passedInARow >= _successThreshold) Healthy = true;
            if (Healthy) LastError = null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _passedInARow = 0;
            Healthy = false;
            LastError = e is BrokenCircuitException ? "the circuit breaker is open" : Location.RedactUrls(e.Message);
        }
        LastCheckAt = time.GetUtcNow();
    }

    /// <summary>A failure of the element (its store refused or could not be reached), not of the client or the request.</summary>
    public static bool IsElementFailure(Exception e) => e switch
    {
        IngestException => false,
        OperationCanceledException => false,
        LoadPipeException { Kind: ErrorKind.Usage or ErrorKind.NotFound or ErrorKind.Integrity } => false,
        Microsoft.AspNetCore.Http.BadHttpRequestException => false,
        _ => true,
    };
}
