using System.Net;
using System.Net.Http.Headers;
using LoadPipe.Core.Errors;

namespace LoadPipe.Google.Http;

/// <summary>
/// Sends requests to a Google API with the bearer token of one remote. Hand-written on HttpClient: there is no
/// Google.Apis.Drive.v3 / YouTube.v3 package here, and the engine writes chunk by chunk, which Google.Apis'
/// ResumableUpload (a seekable whole-file stream) does not fit.
/// <para>A 401 asks the token source for a new token (<see cref="IAccessTokenSource.RefreshAsync"/>) and sends the
/// request once more, which is why requests are given as a factory: a sent HttpRequestMessage cannot be sent again.
/// Nothing else is retried here: the engine retries <see cref="ErrorKind.Transient"/> errors with backoff. Network
/// failures become Transient errors; no message holds a token or a URL's query string.</para>
/// </summary>
public sealed class GoogleApiClient(HttpClient http, IAccessTokenSource tokens)
{
    public HttpClient Http { get; } = http;

    public IAccessTokenSource Tokens { get; } = tokens;

    /// <summary>
    /// Sends the request <paramref name="create"/> makes, with the bearer token, refreshing it once on a 401. Returns
    /// the response whatever its status (but a second 401, which throws an Auth error): for callers that handle some
    /// statuses themselves (308 of an upload session). With <see cref="HttpCompletionOption.ResponseHeadersRead"/> the
    /// caller disposes the response.
    /// </summary>
    /// <param name="what">The operation and object for messages ("gdrive 'd': list Projects"). No secrets.</param>
    public async Task<HttpResponseMessage> SendRawAsync(Func<HttpRequestMessage> create, string what,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        var token = await Tokens.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
        var response = await SendOnceAsync(create, token, what, completion, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
        response.Dispose();
        var fresh = await Tokens.RefreshAsync(token, cancellationToken).ConfigureAwait(false);
        response = await SendOnceAsync(create, fresh, what, completion, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
        var refused = await GoogleErrors.FromResponseAsync(response, what, cancellationToken).ConfigureAwait(false);
        throw new GoogleApiException(ErrorKind.Auth, $"{refused.Message} (again after a token refresh)", refused.Status, refused.Reason);
    }

    /// <summary>As <see cref="SendRawAsync"/>, and any status outside 2xx throws its <see cref="GoogleApiException"/>.</summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, string what,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        var response = await SendRawAsync(create, what, completion, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return response;
        throw await GoogleErrors.FromResponseAsync(response, what, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> create, string token, string what,
        HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = create();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return await Http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: {GoogleErrors.OneLine(e.Message)}", e);
        }
        catch (IOException e)
        {
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: {GoogleErrors.OneLine(e.Message)}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout, not the caller's cancellation.
            throw new LoadPipeException(ErrorKind.Transient, $"{what}: no answer within {Http.Timeout.TotalSeconds:0} s", e);
        }
    }
}
