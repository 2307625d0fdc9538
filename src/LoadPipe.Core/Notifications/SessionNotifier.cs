using System.Text.Json;
using System.Text.Json.Serialization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Core.Manifest;
using LoadPipe.Core.Resilience;
using Polly;

namespace LoadPipe.Core.Notifications;

/// <summary>The body POSTed when a session ends (seed 004's endpoint trigger).</summary>
public sealed record SessionReport(
    [property: JsonPropertyName("session")] long Session,
    [property: JsonPropertyName("project")] string? Project,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("destination")] string Destination,
    [property: JsonPropertyName("destination_bucket")] string? DestinationBucket,
    [property: JsonPropertyName("destination_prefix")] string DestinationPrefix,
    [property: JsonPropertyName("total_files")] int TotalFiles,
    [property: JsonPropertyName("uploaded")] int Uploaded,
    [property: JsonPropertyName("skipped")] int Skipped,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("started")] DateTimeOffset Started,
    [property: JsonPropertyName("finished")] DateTimeOffset? Finished)
{
    /// <summary>Seed 004's name for <see cref="DestinationBucket"/>: its receivers read this one.</summary>
    [JsonPropertyName("bucket_name")]
    public string? BucketName => DestinationBucket;

    /// <summary>Seed 004's name for <see cref="DestinationPrefix"/>.</summary>
    [JsonPropertyName("s3_prefix")]
    public string S3Prefix => DestinationPrefix;

    /// <summary>Seed 004's name for <see cref="Uploaded"/>.</summary>
    [JsonPropertyName("files_uploaded")]
    public int FilesUploaded => Uploaded;

    /// <summary>Builds the report; for a remote destination the bucket is the first segment of the path inside it: of
    /// "s3://bucket/prefix", "s3+http://host:port/bucket/prefix" (an S3 remote's keys) or "NAME:bucket/prefix" (a remote
    /// keyed by its name).</summary>
    public static SessionReport From(SessionRecord s)
    {
        string? bucket = null;
        var prefix = Location.Display(s.Destination);
        var colon = s.Destination.IndexOf(':', StringComparison.Ordinal);
        var scheme = s.Destination.IndexOf("://", StringComparison.Ordinal);
        var inside = s.Destination.StartsWith("s3://", StringComparison.Ordinal) ? "s3://".Length
            : s.Destination.StartsWith("s3+", StringComparison.Ordinal) && scheme > 0 ? s.Destination.IndexOf('/', scheme + 3) + 1
            : colon > 0 && scheme < 0 && !s.Destination.StartsWith('/') ? colon + 1
            : -1;
        if (inside > 0)
        {
            var rest = s.Destination[inside..].TrimStart('/');
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            bucket = slash < 0 ? rest : rest[..slash];
            prefix = slash < 0 ? "" : rest[(slash + 1)..];
        }
        return new SessionReport(s.Id, s.Project, s.Status.Name(), Location.Display(s.Source), Location.Display(s.Destination), bucket, prefix,
            s.Files, s.Files - s.FilesSkipped - s.FilesFailed, s.FilesSkipped, s.FilesFailed, s.Bytes, s.StartedAt, s.FinishedAt);
    }
}

/// <summary>POSTs a <see cref="SessionReport"/> as JSON, retrying transient failures (network, 408, 429, 5xx).</summary>
public sealed class SessionNotifier(HttpClient client, ResiliencePipeline retry)
{
    public SessionNotifier(HttpClient client, int retries, TimeSpan delay, TimeProvider? time = null)
        : this(client, RetryPolicy.Create(retries, delay, TimeSpan.FromSeconds(60), time ?? TimeProvider.System))
    {
    }

    public async Task SendAsync(Uri url, SessionReport report, CancellationToken cancellationToken = default)
    {
        if (url.Scheme is not ("http" or "https"))
            throw new LoadPipeException(ErrorKind.Usage, $"notification URL must be http(s): {Location.Redact(url.AbsoluteUri)}");
        await retry.ExecuteAsync(async ct =>
        {
            HttpResponseMessage response;
            try
            {
                // A body of known length: sent with Content-Length, not chunked, which plain receivers (Python's
                // http.server) read as empty.
                using var body = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(report, NotificationJson.Default.SessionReport));
                body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                response = await client.PostAsync(url, body, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new LoadPipeException(ErrorKind.Transient, $"notify {Location.Redact(url.AbsoluteUri)}: {e.Message}", e);
            }
            using (response)
            {
                if (response.IsSuccessStatusCode) return;
                var kind = RetryPolicy.IsTransientStatus(response.StatusCode) ? ErrorKind.Transient : ErrorKind.Permanent;
                throw new LoadPipeException(kind, $"notify {Location.Redact(url.AbsoluteUri)}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}")
                {
                    RetryAfter = response.Headers.RetryAfter?.Delta,
                };
            }
        }, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Compiled JSON for <see cref="SessionReport"/>: no reflection at run time (lp is compiled ahead of time).</summary>
[JsonSerializable(typeof(SessionReport))]
public sealed partial class NotificationJson : JsonSerializerContext;
