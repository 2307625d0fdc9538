using System.Text.Json;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Locations;
using LoadPipe.Server.Ingest.StorageElements;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest.Sagas;

/// <summary>
/// Runs a saga: its steps in order, each retried up to `saga_retry_max_attempts` times while it fails for a reason
/// that may pass (a store or a webhook that does not answer; never a refusal of the client's input), with a short
/// exponential pause between attempts. When a step still fails, the steps done so far are undone in reverse order,
/// and the saga is recorded for audit, as it is when it completes. A saga runs at most `saga_timeout`: past it, the step
/// under way is cancelled and counts as failed (<see cref="SagaTimeoutException"/>), and the steps done are undone.
/// With `saga_enabled: false` the steps run once each, with no audit record and no saga metrics; a failed step still
/// undoes the ones before it (nothing stays half-done), and the timeout still holds. A test can make any step of any
/// saga fail through <see cref="Faults"/>.
/// </summary>
public sealed class SagaRunner(Func<CancellationToken, Task<IManifest>> openManifest, IngestMetrics metrics, int maxAttempts, TimeProvider time, ILogger logger,
    bool enabled = true, TimeSpan? timeout = null)
{
    public const string Scope = "ingest:sagas";

    private readonly TimeSpan _timeout = timeout ?? IngestDefaults.SagaTimeout;

    /// <summary>False: `saga_enabled: false` (see the class).</summary>
    public bool Enabled { get; } = enabled;

    /// <summary>For tests: asked before each attempt of each step (saga, step, attempt from 1); an exception it returns
    /// is thrown as the step's failure.</summary>
    internal Func<string, string, int, Exception?>? Faults { get; set; }

    /// <summary>For tests: awaited before each attempt of each step (saga, step, the saga's token), to hold a saga at a
    /// step while something else happens (a server stopping, the saga's timeout).</summary>
    internal Func<string, string, CancellationToken, Task>? Pause { get; set; }

    /// <summary>Runs <paramref name="steps"/>; <paramref name="done"/> names steps already done before the saga was
    /// started (the validation that happens while the body streams), recorded as such. <paramref name="cancellationToken"/>
    /// stops the saga where it stands, undoing nothing (a server stopping, whose transfers are taken over later); the
    /// saga's own timeout undoes the steps done.</summary>
    public async Task RunAsync(string saga, string fileId, IReadOnlyList<SagaStep> steps, IReadOnlyList<string> done, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        using var deadline = new CancellationTokenSource(_timeout, time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var records = done.Select(d => new SagaStepRecord(d, "done", 1, null)).ToList();
        var completed = new Stack<(SagaStep Step, int Index)>();
        foreach (var step in steps)
        {
            var (attempts, failure) = await RunStepAsync(saga, step, Enabled ? maxAttempts : 1, bounded.Token, deadline.Token).ConfigureAwait(false);
            if (failure is null)
            {
                records.Add(new SagaStepRecord(step.Name, "done", attempts, null));
                completed.Push((step, records.Count - 1));
                continue;
            }
            records.Add(new SagaStepRecord(step.Name, "failed", attempts, Location.RedactUrls(failure.Message)));
            var compensated = await CompensateAsync(saga, completed, records).ConfigureAwait(false);
            records.AddRange(steps.SkipWhile(s => s != step).Skip(1).Select(s => new SagaStepRecord(s.Name, "skipped", 0, null)));
            if (Enabled)
            {
                await RecordAsync(saga, fileId, compensated ? "compensated" : "failed", records, started).ConfigureAwait(false);
                metrics.Saga(saga, compensated ? "compensated" : "failed");
            }
            throw new SagaFailedException(saga, step.Name, compensated, failure) { Bookkept = Enabled };
        }
        if (Enabled)
        {
            await RecordAsync(saga, fileId, "completed", records, started).ConfigureAwait(false);
            metrics.Saga(saga, "completed");
        }
    }

    /// <summary>One step, with up to <paramref name="allowed"/> attempts; the failure that ended it, or null. <paramref name="deadline"/> is the saga's
    /// timeout: once it passed, the step fails with <see cref="SagaTimeoutException"/> (an undo runs without one).</summary>
    private async Task<(int Attempts, Exception? Failure)> RunStepAsync(string saga, SagaStep step, int allowed, CancellationToken cancellationToken,
        CancellationToken deadline)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (deadline.IsCancellationRequested) return (attempt - 1, new SagaTimeoutException(_timeout));
            try
            {
                if (Faults?.Invoke(saga, step.Name, attempt) is { } fault) throw fault;
                if (Pause is { } pause) await pause(saga, step.Name, cancellationToken).ConfigureAwait(false);
                await step.Run(cancellationToken).ConfigureAwait(false);
                return (attempt, null);
            }
            catch (Exception) when (deadline.IsCancellationRequested)
            {
                return (attempt, new SagaTimeoutException(_timeout));
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                if (attempt >= allowed || !StorageElement.IsElementFailure(e)) return (attempt, e);
                Log.SagaStepRetried(logger, saga, step.Name, attempt, e.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 << (attempt - 1)), time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                return (attempt, new SagaTimeoutException(_timeout));
            }
        }
    }

    /// <summary>Undoes the done steps, last first; an undo is retried as a step is (sagas off included: undoing is what
    /// keeps nothing half-done), and runs even when the request is gone or the saga's time is up.</summary>
    private async Task<bool> CompensateAsync(string saga, Stack<(SagaStep Step, int Index)> completed, List<SagaStepRecord> records)
    {
        var all = true;
        while (completed.TryPop(out var done))
        {
            if (done.Step.Compensate is not { } undo) continue;
            var (_, failure) = await RunStepAsync(saga, done.Step with { Name = "undo " + done.Step.Name, Run = undo }, maxAttempts, CancellationToken.None, CancellationToken.None)
                .ConfigureAwait(false);
            if (Enabled) metrics.Compensated(saga, done.Step.Name);
            records[done.Index] = records[done.Index] with
            {
                Status = failure is null ? "compensated" : "compensation_failed",
                Error = failure is null ? null : Location.RedactUrls(failure.Message),
            };
            if (failure is not null)
            {
                all = false;
                Log.CompensationFailed(logger, saga, done.Step.Name, failure.Message);
            }
        }
        return all;
    }

    /// <summary>The recorded sagas, in the order of their ids (random: sort by <see cref="SagaRecord.StartedAt"/>).</summary>
    public async IAsyncEnumerable<SagaRecord> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var state = (IAdapterStateStore)await openManifest(cancellationToken).ConfigureAwait(false);
        await foreach (var entry in state.ListStateAsync(Scope, "", cancellationToken).ConfigureAwait(false))
            yield return JsonSerializer.Deserialize(entry.Value, IngestJson.Default.SagaRecord)!;
    }

    private async Task RecordAsync(string saga, string fileId, string status, List<SagaStepRecord> steps, DateTimeOffset started)
    {
        var record = new SagaRecord
        {
            SagaId = Guid.NewGuid().ToString("D"), Saga = saga, FileId = fileId, Status = status, Steps = steps,
            StartedAt = started, FinishedAt = time.GetUtcNow(),
        };
        try
        {
            var state = (IAdapterStateStore)await openManifest(CancellationToken.None).ConfigureAwait(false);
            await state.PutStateAsync(Scope, record.SagaId, JsonSerializer.Serialize(record, IngestJson.Default.SagaRecord), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The saga's outcome stands whether or not its audit record could be written; the log keeps it.
            Log.SagaNotRecorded(logger, saga, fileId, status, e.Message);
        }
    }
}
