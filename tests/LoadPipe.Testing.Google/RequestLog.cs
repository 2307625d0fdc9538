using LoadPipe.Testing.Google.Faults;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google;

/// <summary>
/// One request, logged when it arrives and filled in as it is served (bytes as they are read, the status as the
/// response starts), so a client that saw the answer, or saw its connection break, finds it complete.
/// </summary>
public sealed class RequestRecord
{
    private long _bytesReceived;
    private long _bytesSent;

    internal RequestRecord(RequestKind kind, string method, string path, string query, string? contentRange, string? range)
    {
        Kind = kind;
        Method = method;
        Path = path;
        Query = query;
        ContentRange = contentRange;
        Range = range;
    }

    public RequestKind Kind { get; }
    public string Method { get; }
    public string Path { get; }
    public string Query { get; }
    public string? ContentRange { get; }
    public string? Range { get; }
    /// <summary>Body bytes read from an upload chunk (also those of a chunk whose connection broke).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    /// <summary>Body bytes of a media download sent (also those of a download whose connection broke).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);
    /// <summary>The response status; 0 when the connection was aborted before any answer.</summary>
    public int Status { get; internal set; }
    /// <summary>True when the server broke the connection (a fault, or the client went away mid-body).</summary>
    public bool Aborted { get; internal set; }
    /// <summary>The reason of the injected error that answered this request, if any.</summary>
    public string? Fault { get; internal set; }
    /// <summary>The bearer token the request carried (without "Bearer "), or null.</summary>
    public string? BearerToken { get; init; }
    /// <summary>For requests on an upload session: the name of the file or the title of the video.</summary>
    public string? UploadSessionName { get; internal set; }

    internal void AddBytes(long n) => Interlocked.Add(ref _bytesReceived, n);

    internal void AddBytesSent(long n) => Interlocked.Add(ref _bytesSent, n);

    public override string ToString() => $"{Method} {Path}{Query} {ContentRange}{Range} -> {Status}{(Aborted ? " (aborted)" : "")} in {BytesReceived} B, out {BytesSent} B";
}

/// <summary>The requests so far, in the order they finished. Thread-safe.</summary>
public sealed class RequestLog
{
    internal const string RecordKey = "lp.request";

    private readonly object _gate = new();
    private readonly List<RequestRecord> _records = [];

    public IReadOnlyList<RequestRecord> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }
    }

    public IReadOnlyList<RequestRecord> OfKind(RequestKind kind) => All.Where(r => r.Kind == kind).ToList();

    /// <summary>Body bytes received by upload sessions for files named <paramref name="name"/> (every attempt, broken ones included).</summary>
    public long UploadBytesFor(string name) =>
        All.Where(r => r.Kind == RequestKind.UploadChunk && r.UploadSessionName == name).Sum(r => r.BytesReceived);

    public void Clear()
    {
        lock (_gate)
        {
            _records.Clear();
        }
    }

    internal static RequestRecord? Of(HttpContext context) => context.Items[RecordKey] as RequestRecord;

    internal void Add(RequestRecord record)
    {
        lock (_gate)
        {
            _records.Add(record);
        }
    }
}
