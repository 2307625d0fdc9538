using System.Diagnostics.Metrics;

namespace LoadPipe.Server.Metrics;

/// <summary>The server's own instruments, on the "LoadPipe.Server" meter; /metrics shows them in Prometheus' text
/// format (through OpenTelemetry) beside ASP.NET Core's and Kestrel's.</summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "LoadPipe.Server";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _created;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _expired;
    private readonly Counter<long> _bytes;
    private readonly Histogram<double> _appendSeconds;

    public ServerMetrics()
    {
        _created = _meter.CreateCounter<long>("lp.uploads.created", "{upload}", "Uploads created (tus POST)");
        _completed = _meter.CreateCounter<long>("lp.uploads.completed", "{upload}", "Uploads finished into an object at the destination");
        _expired = _meter.CreateCounter<long>("lp.uploads.expired", "{upload}", "Unfinished uploads removed after their expiry");
        _bytes = _meter.CreateCounter<long>("lp.uploads.received", "By", "Bytes appended and made durable");
        _appendSeconds = _meter.CreateHistogram<double>("lp.uploads.append.duration", "s", "Time of one append (a PATCH's body), until durable",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
    }

    public void UploadCreated() => _created.Add(1);
    public void UploadCompleted() => _completed.Add(1);
    public void UploadExpired() => _expired.Add(1);

    public void Appended(long bytes, TimeSpan elapsed)
    {
        _bytes.Add(bytes);
        _appendSeconds.Record(elapsed.TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();
}
