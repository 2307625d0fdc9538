namespace LoadPipe.Storage.Tus;

/// <summary>One tus remote, or one <c>tus+http(s)://</c> URL's endpoint.</summary>
public sealed class TusStorageOptions
{
    /// <summary>The remote's name, for messages.</summary>
    public required string Name { get; init; }

    /// <summary>The creation URL (an http or https URL ending with '/'), where uploads are created with POST.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer ...</c> to the endpoint's origin (never to an upload URL on another
    /// host). Default none.</summary>
    public string? BearerToken { get; init; }

    /// <summary>Extra request headers (a custom auth header, say), sent with every request to the endpoint's origin,
    /// never to an upload URL on another host, and never shown. The headers tus itself sets cannot be given. Default none.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The longest silence: before an answer's headers, and while a PATCH body is sent. Default 60 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TusDefaults.Timeout;
}

/// <summary>The tus adapter's defaults, in one place.</summary>
public static class TusDefaults
{
    /// <summary>The longest silence of a request: 60 seconds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Tries of the requests the engine does not retry (OPTIONS, the HEAD of a resume, DELETE), after the first: 3.</summary>
    public const int Retries = 3;
}
