using System.Net;

namespace LoadPipe.Fetch.Downloads;

/// <summary>
/// What the response to a download's request said of the representation: its validator (for If-Range on a resume),
/// its whole length and its Content-MD5. <see cref="Storage.Http.HttpStorage"/> reads the body and keeps the headers
/// to itself; this handler, in the client under it, copies them for the request made in the same async flow as
/// <see cref="Current"/> was set in.
/// </summary>
internal sealed class ResponseCapture
{
    public static readonly AsyncLocal<ResponseCapture?> Current = new();

    /// <summary>The validator as <see cref="Storage.Http.HttpStorage"/> writes it: a strong ETag, else "lm:" and the
    /// Last-Modified date; null when the server gave neither.</summary>
    public string? Version { get; private set; }

    /// <summary>The whole representation's length (Content-Range's total for a 206); -1 when not announced.</summary>
    public long TotalLength { get; private set; } = -1;

    public string? Md5 { get; private set; }

    public void Record(HttpResponseMessage response)
    {
        Version = response.Headers.ETag is { IsWeak: false } etag ? etag.ToString()
            : response.Content.Headers.LastModified is { } modified ? "lm:" + modified.ToString("R")
            : null;
        TotalLength = response.StatusCode == HttpStatusCode.PartialContent
            ? response.Content.Headers.ContentRange?.Length ?? -1
            : response.Content.Headers.ContentLength ?? -1;
        if (response.Content.Headers.ContentMD5 is { Length: 16 } md5) Md5 = Convert.ToHexStringLower(md5);
    }

    /// <summary>The handler that fills <see cref="Current"/>.</summary>
    public sealed class Handler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) Current.Value?.Record(response);
            return response;
        }
    }
}
