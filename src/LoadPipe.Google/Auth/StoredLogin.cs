using System.Text.Json.Serialization;

namespace LoadPipe.Google.Auth;

/// <summary>
/// What `lp auth login NAME` keeps for one remote, encrypted in the <see cref="TokenStore"/>: the refresh token, the
/// last access token and its expiry, and what the login was made with (client, token endpoint, scopes granted).
/// <see cref="ToString"/> leaves the tokens out: this record may end up in a debugger or a log line, its tokens never.
/// </summary>
public sealed record StoredLogin
{
    [JsonPropertyName("remote")] public required string Remote { get; init; }
    /// <summary>The remote's type at login ("gdrive", "youtube").</summary>
    [JsonPropertyName("type")] public required string Type { get; init; }
    /// <summary>The scopes the user granted.</summary>
    [JsonPropertyName("scopes")] public required IReadOnlyList<string> Scopes { get; init; }
    [JsonPropertyName("client_id")] public required string ClientId { get; init; }
    [JsonPropertyName("token_url")] public required string TokenUrl { get; init; }
    [JsonPropertyName("refresh_token")] public required string RefreshToken { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("access_token_expires_at")] public DateTimeOffset? AccessTokenExpiresAt { get; init; }
    /// <summary>When `lp auth login` ran.</summary>
    [JsonPropertyName("logged_in_at")] public required DateTimeOffset LoggedInAt { get; init; }
    /// <summary>The LoadPipe user this sign-in is for (`lp auth login NAME --user USER`); null for the remote's default.</summary>
    [JsonPropertyName("user")] public string? User { get; init; }

    public override string ToString() =>
        $"StoredLogin {{ Remote = {Remote}, User = {User}, Type = {Type}, Scopes = {string.Join(' ', Scopes)}, ClientId = {ClientId}, " +
        $"AccessTokenExpiresAt = {AccessTokenExpiresAt:O}, LoggedInAt = {LoggedInAt:O} }}";
}

/// <summary>Compiled JSON for <see cref="StoredLogin"/>: no reflection at run time (lp is compiled ahead of time).</summary>
[JsonSerializable(typeof(StoredLogin))]
internal sealed partial class StoredLoginJson : JsonSerializerContext;
