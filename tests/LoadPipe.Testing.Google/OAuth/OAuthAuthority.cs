// Hand-written: a stand-in for Google's OAuth 2.0 authorization server, written from Google's published protocol
// ("OAuth 2.0 for Mobile & Desktop Apps" with the loopback redirect and PKCE, "Using OAuth 2.0 for Server to Server
// Applications" with the JWT bearer grant of RFC 7523) so the auth code can be tested without Google.
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google.OAuth;

/// <summary>An access token as the server issued it, with the scopes it grants.</summary>
public sealed record IssuedToken(string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt, IReadOnlyList<string> Scopes, string ClientId);

/// <summary>The outcome of checking a request's bearer token.</summary>
public enum BearerCheck { Valid, Missing, Unknown, Expired }

/// <summary>
/// Clients, codes and tokens of the fake authorization server. Endpoints: <c>GET /auth</c> (consent, auto-approved
/// unless <see cref="DenyConsent"/>) and <c>POST /token</c> (grants authorization_code, refresh_token and
/// urn:ietf:params:oauth:grant-type:jwt-bearer).
/// </summary>
public sealed class OAuthAuthority(TimeProvider time, TimeSpan accessTokenLifetime, Func<Uri> tokenUri)
{
    public const string JwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    private const string GoogleTokenUri = "https://oauth2.googleapis.com/token";

    private readonly ConcurrentDictionary<string, string> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ServiceAccount> _serviceAccounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingCode> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> _accessTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RefreshGrant> _refreshTokens = new(StringComparer.Ordinal);
    private long _tokensIssued;
    private readonly ConcurrentQueue<IssuedToken> _issued = new();

    /// <summary>Every access token issued, oldest first (a refreshed one carries the refresh token it came from).</summary>
    public IReadOnlyList<IssuedToken> Issued => [.. _issued];

    /// <summary>The access token as issued, or null for one this server never issued.</summary>
    public IssuedToken? Find(string accessToken) => _accessTokens.TryGetValue(accessToken, out var token) ? token : null;

    /// <summary>When true, the consent page redirects with <c>error=access_denied</c> (the user clicked "Cancel").</summary>
    public bool DenyConsent { get; set; }

    /// <summary>
    /// What the user grants on the consent page, given what was asked. Default: everything asked. Set it to grant
    /// less (Google lets users untick scopes) and test the 403 insufficientPermissions path.
    /// </summary>
    public Func<IReadOnlyList<string>, IReadOnlyList<string>>? GrantScopes { get; set; }

    /// <summary>Number of access tokens issued so far (any grant).</summary>
    public long TokensIssued => Interlocked.Read(ref _tokensIssued);

    /// <summary>Number of requests to the token endpoint so far, successful or not.</summary>
    public long TokenRequests => Interlocked.Read(ref _tokenRequests);
    private long _tokenRequests;

    public void AddClient(string clientId, string clientSecret) => _clients[clientId] = clientSecret;

    /// <summary>Issues a token directly (no HTTP), e.g. for a test that needs a valid bearer token.</summary>
    public IssuedToken IssueToken(string clientId, IEnumerable<string> scopes, bool withRefreshToken = true)
    {
        var list = scopes.ToArray();
        string? refresh = null;
        if (withRefreshToken)
        {
            refresh = "1//fake-" + RandomId(32);
            _refreshTokens[refresh] = new RefreshGrant(clientId, list);
        }
        return NewAccessToken(clientId, list, refresh);
    }

    /// <summary>Makes every access token issued so far expired; refresh tokens keep working.</summary>
    public void ExpireAllTokens()
    {
        var past = time.GetUtcNow().AddSeconds(-1);
        foreach (var (key, token) in _accessTokens)
        {
            _accessTokens[key] = token with { ExpiresAt = past };
        }
    }

    /// <summary>Revokes every refresh token (the user removed the app's access): refresh grants answer invalid_grant.</summary>
    public void RevokeRefreshTokens() => _refreshTokens.Clear();

    public BearerCheck Check(HttpRequest request, out IssuedToken? token)
    {
        token = null;
        string? header = request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return BearerCheck.Missing;
        }
        if (!_accessTokens.TryGetValue(header["Bearer ".Length..].Trim(), out token))
        {
            return BearerCheck.Unknown;
        }
        return token.ExpiresAt <= time.GetUtcNow() ? BearerCheck.Expired : BearerCheck.Valid;
    }

    /// <summary>
    /// A service account with a fresh RSA key: returns the content of its JSON key file (the format Google Cloud
    /// console downloads), whose <c>token_uri</c> points at this server. <paramref name="allowedScopes"/> null: any scope.
    /// </summary>
    public string CreateServiceAccount(string clientEmail, IEnumerable<string>? allowedScopes = null)
    {
        using var rsa = RSA.Create(2048);
        var keyId = RandomHex(40);
        var publicKey = RSA.Create();
        publicKey.ImportSubjectPublicKeyInfo(rsa.ExportSubjectPublicKeyInfo(), out _);
        _serviceAccounts[clientEmail] = new ServiceAccount(clientEmail, keyId, publicKey, allowedScopes?.ToHashSet(StringComparer.Ordinal));
        var json = new JsonObject
        {
            ["type"] = "service_account",
            ["project_id"] = "loadpipe-fake",
            ["private_key_id"] = keyId,
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem() + "\n",
            ["client_email"] = clientEmail,
            ["client_id"] = RandomDigits(21),
            ["auth_uri"] = new Uri(tokenUri(), "/auth").ToString(),
            ["token_uri"] = tokenUri().ToString(),
            ["auth_provider_x509_cert_url"] = "https://www.googleapis.com/oauth2/v1/certs",
            ["client_x509_cert_url"] = "https://www.googleapis.com/robot/v1/metadata/x509/" + Uri.EscapeDataString(clientEmail),
            ["universe_domain"] = "googleapis.com",
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    // ------------------------------------------------------------------ GET /auth
    /// <summary>
    /// The consent page. Google's "Step 2: Send a request to Google's OAuth 2.0 server": client_id, redirect_uri
    /// (loopback for installed apps), response_type=code, scope, state, access_type, code_challenge(_method).
    /// Auto-approves and redirects 302 to redirect_uri with code, state and scope.
    /// </summary>
    public async Task HandleAuthAsync(HttpContext context)
    {
        var q = context.Request.Query;
        string clientId = q["client_id"].ToString();
        string redirectUri = q["redirect_uri"].ToString();
        if (!_clients.ContainsKey(clientId))
        {
            await ErrorPageAsync(context, 401, "invalid_client", "The OAuth client was not found.");
            return;
        }
        if (!Uri.TryCreate(redirectUri, UriKind.Absolute, out var redirect) || redirect.Scheme != "http" || !IsLoopback(redirect))
        {
            await ErrorPageAsync(context, 400, "redirect_uri_mismatch", "The redirect URI must be a loopback http address for a desktop client.");
            return;
        }
        string state = q["state"].ToString();
        if (q["response_type"].ToString() != "code")
        {
            Redirect(context, redirect, ("error", "unsupported_response_type"), ("state", state));
            return;
        }
        var scopes = q["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0)
        {
            await ErrorPageAsync(context, 400, "invalid_request", "Missing required parameter: scope");
            return;
        }
        var unknown = scopes.FirstOrDefault(s => !IsKnownScope(s));
        if (unknown is not null)
        {
            await ErrorPageAsync(context, 400, "invalid_scope", "Some requested scopes were invalid.");
            return;
        }
        if (DenyConsent)
        {
            Redirect(context, redirect, ("error", "access_denied"), ("state", state));
            return;
        }
        string challenge = q["code_challenge"].ToString();
        string method = q["code_challenge_method"].ToString();
        if (challenge.Length > 0 && method.Length == 0)
        {
            method = "plain"; // RFC 7636 section 4.3: plain when the method is omitted.
        }
        if (challenge.Length > 0 && method is not ("S256" or "plain"))
        {
            await ErrorPageAsync(context, 400, "invalid_request", "Invalid code_challenge_method.");
            return;
        }
        var granted = GrantScopes?.Invoke(scopes) ?? scopes;
        var code = "4/fake-" + RandomId(40);
        _codes[code] = new PendingCode(clientId, redirectUri, granted.ToArray(), challenge.Length > 0 ? challenge : null, method,
            q["access_type"].ToString() == "offline", time.GetUtcNow().AddMinutes(10));
        Redirect(context, redirect, ("state", state), ("code", code), ("scope", string.Join(' ', granted)));
    }

    // ------------------------------------------------------------------ POST /token
    /// <summary>The token endpoint (RFC 6749 section 3.2; Google's "Step 5: Exchange authorization code for refresh and access tokens").</summary>
    public async Task HandleTokenAsync(HttpContext context)
    {
        Interlocked.Increment(ref _tokenRequests);
        if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.HasFormContentType)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_request", "Invalid request: expected a form-encoded POST.");
            return;
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        string grantType = form["grant_type"].ToString();
        if (grantType == JwtBearerGrant)
        {
            await JwtBearerAsync(context, form["assertion"].ToString());
            return;
        }
        var (clientId, clientSecret) = ClientCredentials(context.Request, form);
        if (clientId.Length == 0 || !_clients.TryGetValue(clientId, out var secret))
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 401, "invalid_client", "The OAuth client was not found.");
            return;
        }
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(clientSecret)))
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 401, "invalid_client", "Unauthorized");
            return;
        }
        switch (grantType)
        {
            case "authorization_code":
                await AuthorizationCodeAsync(context, clientId, form);
                break;
            case "refresh_token":
                if (!_refreshTokens.TryGetValue(form["refresh_token"].ToString(), out var grant) || grant.ClientId != clientId)
                {
                    await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Token has been expired or revoked.");
                    return;
                }
                await WriteTokenAsync(context, NewAccessToken(clientId, grant.Scopes, refreshToken: null));
                break;
            default:
                await GoogleErrors.WriteOAuthErrorAsync(context, 400, "unsupported_grant_type", "Invalid grant_type: " + grantType);
                break;
        }
    }

    private async Task AuthorizationCodeAsync(HttpContext context, string clientId, IFormCollection form)
    {
        if (!_codes.TryRemove(form["code"].ToString(), out var pending) || pending.ExpiresAt <= time.GetUtcNow() || pending.ClientId != clientId)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Malformed auth code.");
            return;
        }
        if (form["redirect_uri"].ToString() != pending.RedirectUri)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "redirect_uri_mismatch", "Bad Request");
            return;
        }
        if (pending.Challenge is not null)
        {
            string verifier = form["code_verifier"].ToString();
            if (verifier.Length == 0)
            {
                await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Missing code verifier.");
                return;
            }
            string computed = pending.ChallengeMethod == "S256"
                ? Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)))
                : verifier;
            if (computed != pending.Challenge)
            {
                await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid code verifier.");
                return;
            }
        }
        string? refresh = null;
        if (pending.Offline)
        {
            refresh = "1//fake-" + RandomId(32);
            _refreshTokens[refresh] = new RefreshGrant(clientId, pending.Scopes);
        }
        await WriteTokenAsync(context, NewAccessToken(clientId, pending.Scopes, refresh));
    }

    /// <summary>RFC 7523 / Google's "Preparing to make an authorized API call" for service accounts: an RS256 JWT with iss, scope, aud, exp, iat.</summary>
    private async Task JwtBearerAsync(HttpContext context, string assertion)
    {
        var parts = assertion.Split('.');
        JsonNode? header, claims;
        try
        {
            if (parts.Length != 3)
            {
                throw new FormatException();
            }
            header = JsonNode.Parse(FromBase64Url(parts[0]));
            claims = JsonNode.Parse(FromBase64Url(parts[1]));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid JWT: not a signed JWT.");
            return;
        }
        if (header?["alg"]?.GetValue<string>() != "RS256")
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid JWT: the algorithm must be RS256.");
            return;
        }
        string iss = claims?["iss"]?.GetValue<string>() ?? "";
        if (!_serviceAccounts.TryGetValue(iss, out var account))
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid email or User ID");
            return;
        }
        var signature = FromBase64UrlBytes(parts[2]);
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (signature is null || !account.PublicKey.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid JWT Signature.");
            return;
        }
        string aud = claims?["aud"]?.GetValue<string>() ?? "";
        if (aud != tokenUri().ToString() && aud != GoogleTokenUri)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid JWT: Failed audience check.");
            return;
        }
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        long? iat = Number(claims?["iat"]);
        long? exp = Number(claims?["exp"]);
        // Google: "Token must be a short-lived token (60 minutes) and in a reasonable timeframe"; a little clock skew is tolerated.
        if (iat is null || exp is null || exp <= now || iat > now + 300 || exp - iat > 3600)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
            return;
        }
        var scopes = (claims?["scope"]?.GetValue<string>() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0 || scopes.Any(s => !IsKnownScope(s) || (account.AllowedScopes is not null && !account.AllowedScopes.Contains(s))))
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
            return;
        }
        if (header?["kid"] is { } kid && kid.GetValue<string>() != account.KeyId)
        {
            await GoogleErrors.WriteOAuthErrorAsync(context, 400, "invalid_grant", "Invalid JWT Signature.");
            return;
        }
        await WriteTokenAsync(context, NewAccessToken(iss, scopes, refreshToken: null));
    }

    private IssuedToken NewAccessToken(string clientId, IReadOnlyList<string> scopes, string? refreshToken)
    {
        var token = new IssuedToken("ya29.fake-" + RandomId(48), refreshToken, time.GetUtcNow() + accessTokenLifetime, scopes, clientId);
        _accessTokens[token.AccessToken] = token;
        _issued.Enqueue(token);
        Interlocked.Increment(ref _tokensIssued);
        return token;
    }

    private Task WriteTokenAsync(HttpContext context, IssuedToken token)
    {
        var body = new JsonObject
        {
            ["access_token"] = token.AccessToken,
            ["expires_in"] = (long)accessTokenLifetime.TotalSeconds,
            ["scope"] = string.Join(' ', token.Scopes),
            ["token_type"] = "Bearer",
        };
        if (token.RefreshToken is not null)
        {
            body["refresh_token"] = token.RefreshToken;
        }
        context.Response.Headers.CacheControl = "no-cache, no-store, max-age=0, must-revalidate";
        return GoogleErrors.WriteJsonAsync(context, body, 200);
    }

    private static (string Id, string Secret) ClientCredentials(HttpRequest request, IFormCollection form)
    {
        string? header = request.Headers.Authorization;
        if (header is not null && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                int colon = pair.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    return (Uri.UnescapeDataString(pair[..colon]), Uri.UnescapeDataString(pair[(colon + 1)..]));
                }
            }
            catch (FormatException)
            {
            }
        }
        return (form["client_id"].ToString(), form["client_secret"].ToString());
    }

    public static bool IsKnownScope(string scope) =>
        scope is "openid" or "email" or "profile"
        || scope.StartsWith("https://www.googleapis.com/auth/drive", StringComparison.Ordinal)
        || scope.StartsWith("https://www.googleapis.com/auth/youtube", StringComparison.Ordinal)
        || scope.StartsWith("https://www.googleapis.com/auth/userinfo.", StringComparison.Ordinal);

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static void Redirect(HttpContext context, Uri redirect, params (string Key, string Value)[] query)
    {
        var sb = new StringBuilder(redirect.GetLeftPart(UriPartial.Path));
        char sep = '?';
        if (redirect.Query.Length > 1)
        {
            sb.Append(redirect.Query);
            sep = '&';
        }
        foreach (var (key, value) in query)
        {
            sb.Append(sep).Append(key).Append('=').Append(Uri.EscapeDataString(value));
            sep = '&';
        }
        context.Response.StatusCode = 302;
        context.Response.Headers.Location = sb.ToString();
    }

    private static Task ErrorPageAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(
            $"<!doctype html><title>Error {status}: {WebUtility.HtmlEncode(error)}</title><h1>Access blocked: authorization error</h1><p>Error {status}: {WebUtility.HtmlEncode(error)}</p><p>{WebUtility.HtmlEncode(description)}</p>",
            context.RequestAborted);
    }

    private static long? Number(JsonNode? node) =>
        node is JsonValue v && (v.TryGetValue<long>(out var l) ? l : v.TryGetValue<double>(out var d) ? (long)d : (long?)null) is { } n ? n : null;

    internal static string RandomId(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        return RandomNumberGenerator.GetString(alphabet, length);
    }

    private static string RandomHex(int length) => RandomNumberGenerator.GetHexString(length, lowercase: true);

    private static string RandomDigits(int length) => RandomNumberGenerator.GetString("0123456789", length);

    internal static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? FromBase64UrlBytes(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string FromBase64Url(string text) => Encoding.UTF8.GetString(FromBase64UrlBytes(text) ?? throw new FormatException());

    private sealed record PendingCode(string ClientId, string RedirectUri, string[] Scopes, string? Challenge, string ChallengeMethod, bool Offline, DateTimeOffset ExpiresAt);

    private sealed record RefreshGrant(string ClientId, IReadOnlyList<string> Scopes);

    private sealed record ServiceAccount(string Email, string KeyId, RSA PublicKey, HashSet<string>? AllowedScopes);
}
