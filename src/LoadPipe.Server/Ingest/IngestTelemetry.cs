using System.Diagnostics;

namespace LoadPipe.Server.Ingest;

/// <summary>
/// The ingest API's OpenTelemetry spans, with the seed's names, all on one <see cref="ActivitySource"/>: each step
/// starts its span here (<see cref="Start"/>), so that the names are spelled once. An upload's span is the parent of its
/// validation, storage selection and compression spans; a transfer has its own. Spans cost nothing while no one
/// listens; `lp serve` exports them by OTLP when `server.ingest.otlp_endpoint` (or OTEL_EXPORTER_OTLP_ENDPOINT) is set.
/// </summary>
public static class IngestTelemetry
{
    /// <summary>The ActivitySource's name, which a tracer provider (or an ActivityListener) subscribes to.</summary>
    public const string SourceName = "LoadPipe.Ingest";

    /// <summary>One upload, from the request to its record (a batch has one per file).</summary>
    public const string Upload = "artstore.ingester.upload";

    /// <summary>The checks made before the bytes go to storage: the file name and the type from the first bytes. The
    /// size limit and the hashes are checked as the bytes stream, within the upload span.</summary>
    public const string Validation = "artstore.ingester.validation";

    /// <summary>Compressing a file on its way to storage.</summary>
    public const string Compression = "artstore.ingester.compression";

    /// <summary>Choosing the storage element (one span per element tried).</summary>
    public const string StorageSelection = "artstore.ingester.storage_selection";

    /// <summary>Moving or copying a file between storage elements.</summary>
    public const string Transfer = "artstore.ingester.transfer";

    /// <summary>Tag names the spans carry.</summary>
    public const string FileIdTag = "artstore.file_id";
    public const string StorageElementTag = "artstore.storage_element_id";
    public const string SizeTag = "artstore.size_bytes";
    public const string MimeTypeTag = "artstore.mime_type";
    public const string ErrorTag = "artstore.error";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the span <paramref name="name"/> (one of the constants above) as a child of the current one; null
    /// when nothing listens.</summary>
    public static Activity? Start(string name) => Source.StartActivity(name, ActivityKind.Internal);

    /// <summary>Marks the span failed with the refusal's stable code (or the exception's type).</summary>
    public static void Fail(Activity? span, Exception e)
    {
        if (span is null) return;
        var code = e is IngestException refusal ? refusal.Code : e.GetType().Name;
        span.SetTag(ErrorTag, code);
        span.SetStatus(ActivityStatusCode.Error, code);
    }
}
