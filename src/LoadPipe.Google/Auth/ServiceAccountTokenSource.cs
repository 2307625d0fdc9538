using System.Text.Json;
using Google.Apis.Auth.OAuth2;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Auth;

/// <summary>
/// Access tokens for a service account (`service_account_file`: the JSON key Google Cloud hands out): Google.Apis.Auth
/// signs a JWT with the account's private key and trades it at the token endpoint (RFC 7523 jwt-bearer grant). The
/// endpoint is the remote's `token_url` when set, else the key file's `token_uri`, else Google's. Nothing is stored:
/// the key file is the credential.
/// </summary>
public sealed class ServiceAccountTokenSource : RefreshingTokenSource
{
    private readonly string _remote;
    private readonly ServiceAccountCredential _credential;
    private readonly string _tokenUrl;

    public ServiceAccountTokenSource(RemoteDefinition remote, IReadOnlyList<string> scopes, TimeProvider? time = null) : base(time)
    {
        _remote = remote.Name;
        var path = remote.Require("service_account_file");
        var key = ServiceAccountKey.Read(remote.Name, path);
        _tokenUrl = GoogleEndpoints.Url(remote, "token_url") ?? key.TokenUri ?? GoogleEndpoints.DefaultTokenUrl;
        var initializer = new ServiceAccountCredential.Initializer(key.ClientEmail, _tokenUrl) { Scopes = scopes, KeyId = key.PrivateKeyId };
        try
        {
            _credential = new ServiceAccountCredential(initializer.FromPrivateKey(key.PrivateKey));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote.Name}': service_account_file {path}: private_key is not a PEM RSA private key", e);
        }
    }

    public string ClientEmail => _credential.Id;

    protected override async Task<AccessToken> FetchAsync(CancellationToken cancellationToken)
    {
        await TokenEndpointErrors.RunAsync(_remote, TokenEndpointErrors.Grant.ServiceAccount, _tokenUrl,
            () => _credential.RequestAccessTokenAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        var response = _credential.Token;
        return new AccessToken(response.AccessToken, InstalledAppClient.ExpiresAt(response, Time));
    }
}

/// <summary>The fields of a service account's JSON key file that LoadPipe uses.</summary>
internal sealed record ServiceAccountKey(string ClientEmail, string PrivateKey, string? PrivateKeyId, string? TokenUri)
{
    public static ServiceAccountKey Read(string remote, string path)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            root = document.RootElement.Clone();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote}': service_account_file {path}: no such file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote}': service_account_file {path}: cannot read ({e.Message})");
        }
        catch (JsonException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote}': service_account_file {path} is not JSON");
        }
        string? Field(string name) =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string Required(string name) => Field(name) is { Length: > 0 } v ? v
            : throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote}': service_account_file {path} has no '{name}' (is it a service account key?)");
        if (Field("type") is { } type && type != "service_account")
            throw new LoadPipeException(ErrorKind.Usage, $"remote '{remote}': service_account_file {path} is a '{type}' credential, not a service account key");
        return new ServiceAccountKey(Required("client_email"), Required("private_key"), Field("private_key_id"), Field("token_uri"));
    }

    public override string ToString() => $"ServiceAccountKey {{ ClientEmail = {ClientEmail} }}";
}
