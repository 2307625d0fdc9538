using System.Net.Http.Headers;
using System.Text.Json;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Resilience;
using LoadPipe.Fetch.Processing;
using Polly;

namespace LoadPipe.Fetch.PostProcessors;

/// <summary>
/// `http:URL`: results POSTed as a JSON array of <see cref="ResultJson"/> objects, <see cref="BatchSize"/> at a time
/// (and the rest at the end), each batch retried on transient faults as downloads are. A batch that still fails is
/// reported through <see cref="Failed"/> and the run goes on: the results are in the manifest and the other outputs.
/// </summary>
public sealed class HttpPostProcessor(Uri url, HttpClient client, ResiliencePipeline retry, Action<string>? failed = null) : IPostProcessor
{
    public const int BatchSize = 100;

    private readonly List<FetchResult> _batch = new(BatchSize);

    /// <summary>Batches that could not be delivered.</summary>
    public int Failed { get; private set; }

    public async ValueTask PostProcessAsync(FetchResult result, CancellationToken cancellationToken = default)
    {
        _batch.Add(result);
        if (_batch.Count >= BatchSize) await SendAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_batch.Count > 0) await SendAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var r in _batch) ResultJson.Write(w, r);
            w.WriteEndArray();
        }
        var count = _batch.Count;
        _batch.Clear();
        try
        {
            await retry.ExecuteAsync(async ct =>
            {
                using var content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync(url, content, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw new LoadPipeException(RetryPolicy.IsTransientStatus(response.StatusCode) ? ErrorKind.Transient : ErrorKind.Permanent,
                        $"{Location.Redact(url.AbsoluteUri)}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is LoadPipeException or HttpRequestException)
        {
            Failed++;
            failed?.Invoke($"http post-processor: {count} results not delivered: {Location.RedactUrls(e.Message)}");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
