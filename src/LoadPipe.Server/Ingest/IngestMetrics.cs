using System.Diagnostics.Metrics;
using LoadPipe.Server.Ingest.StorageElements;

namespace LoadPipe.Server.Ingest;

/// <summary>
/// The seed's Prometheus metrics, on the "LoadPipe.Ingest" meter. The instruments are named so that the Prometheus
/// exporter writes the seed's names: a counter gets `_total`, a unit `s` gets `_seconds`, `By` gets `_bytes`
/// (`artstore_ingester_uploads_total{status}`, `artstore_ingester_upload_duration_seconds`, ...).
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "LoadPipe.Ingest";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _uploads;
    private readonly Histogram<double> _uploadSeconds;
    private readonly Histogram<long> _uploadSize;
    private readonly Histogram<double> _selectionSeconds;
    private readonly Histogram<double> _compressionRatio;
    private readonly Counter<long> _sagas;
    private readonly Counter<long> _compensations;

    public IngestMetrics(Func<IReadOnlyList<StorageElement>> elements)
    {
        _uploads = _meter.CreateCounter<long>("artstore_ingester_uploads", null, "Uploads, by status (success, failure)");
        _uploadSeconds = _meter.CreateHistogram<double>("artstore_ingester_upload_duration", "s", "Time of one upload, from the request to the record",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900] });
        _uploadSize = _meter.CreateHistogram<long>("artstore_ingester_upload_size", "By", "Size of the uploaded files",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1 << 10, 64 << 10, 1 << 20, 10 << 20, 100 << 20, 1 << 30, 10L << 30] });
        _selectionSeconds = _meter.CreateHistogram<double>("artstore_ingester_storage_selection_duration", "s", "Time to choose a storage element",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.0001, 0.001, 0.01, 0.1, 1] });
        _compressionRatio = _meter.CreateHistogram<double>("artstore_ingester_compression_ratio", null, "Stored size over original size of compressed files",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] });
        _sagas = _meter.CreateCounter<long>("artstore_ingester_saga_transactions", null, "Sagas run, by saga and outcome");
        _compensations = _meter.CreateCounter<long>("artstore_ingester_saga_compensations", null, "Compensating actions run, by saga and step");
        _meter.CreateObservableGauge("artstore_ingester_circuit_breaker_state", () => elements().Select(e =>
            new Measurement<int>(e.BreakerState switch { "open" => 1, "half_open" => 2, "isolated" => 1, _ => 0 },
                new KeyValuePair<string, object?>("storage_element_id", e.Id))),
            null, "Each storage element's circuit breaker: 0 closed, 1 open, 2 half-open");
    }

    public void Uploaded(string status, long bytes, TimeSpan elapsed)
    {
        _uploads.Add(1, new KeyValuePair<string, object?>("status", status));
        _uploadSeconds.Record(elapsed.TotalSeconds);
        if (status == "success") _uploadSize.Record(bytes);
    }

    public void SelectionTook(TimeSpan elapsed) => _selectionSeconds.Record(elapsed.TotalSeconds);
    public void Compressed(double ratio) => _compressionRatio.Record(ratio);

    public void Saga(string saga, string outcome) =>
        _sagas.Add(1, new KeyValuePair<string, object?>("saga", saga), new KeyValuePair<string, object?>("status", outcome));

    public void Compensated(string saga, string step) =>
        _compensations.Add(1, new KeyValuePair<string, object?>("saga", saga), new KeyValuePair<string, object?>("step", step));

    public void Dispose() => _meter.Dispose();
}
