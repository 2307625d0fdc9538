using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Auth;

/// <summary>Google's OAuth endpoints, and a remote's `auth_url` / `token_url` settings that point elsewhere.</summary>
public static class GoogleEndpoints
{
    public const string DefaultAuthUrl = "https://accounts.google.com/o/oauth2/v2/auth";
    public const string DefaultTokenUrl = "https://oauth2.googleapis.com/token";
    public const string DefaultRevokeUrl = "https://oauth2.googleapis.com/revoke";

    /// <summary>The consent page: `auth_url`, default <see cref="DefaultAuthUrl"/>.</summary>
    public static string AuthUrl(RemoteDefinition remote) => Url(remote, "auth_url") ?? DefaultAuthUrl;

    /// <summary>The token endpoint: `token_url`, default <see cref="DefaultTokenUrl"/>.</summary>
    public static string TokenUrl(RemoteDefinition remote) => Url(remote, "token_url") ?? DefaultTokenUrl;

    /// <summary>A remote's URL setting when present, checked to be an absolute http(s) URL.</summary>
    internal static string? Url(RemoteDefinition remote, string setting)
    {
        if (remote.Get(setting) is not { Length: > 0 } value) return null;
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? value
            : throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote.Name}': '{setting}' must be an http(s) URL, not '{Location.Redact(value)}'");
    }

    /// <summary>The host of a token endpoint, for messages: never its query string.</summary>
    internal static string HostOf(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Authority : "the token endpoint";
}
