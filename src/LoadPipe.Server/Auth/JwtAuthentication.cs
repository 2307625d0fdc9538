using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace LoadPipe.Server.Auth;

/// <summary>
/// JWT bearer tokens (RFC 6750) signed with HS256 (a shared secret) or RS256 (checked with a public key file), with an
/// optional issuer and audience. Scopes come from the `scope` claim, space-separated as OAuth 2.0 writes them (RFC 8693
/// section 4.2); uploading needs `upload`. A missing or bad token gets 401, a token without the scope 403.
/// </summary>
public static class JwtAuthentication
{
    public const string UploadPolicy = "upload";
    public const string AnyTokenPolicy = "token";
    public const string UploadScope = "upload";

    public static void Add(IServiceCollection services, ServerAuthConfig jwt)
    {
        var key = SigningKey(jwt, out var algorithm);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            // Claims keep their JWT names ("scope", "sub"), not the WS-Federation URIs.
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                IssuerSigningKey = key,
                ValidAlgorithms = [algorithm],
                ValidateIssuer = jwt.Issuer is not null,
                ValidIssuer = jwt.Issuer,
                ValidateAudience = jwt.Audience is not null,
                ValidAudience = jwt.Audience,
                ValidateLifetime = true,
                ClockSkew = TimeSpan.FromMinutes(1),
            };
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(UploadPolicy, policy => policy.RequireAuthenticatedUser().RequireAssertion(c => HasScope(c.User, UploadScope)))
            .AddPolicy(AnyTokenPolicy, policy => policy.RequireAuthenticatedUser());
    }

    /// <summary>True when the `scope` claim (one or more, each space-separated) holds <paramref name="scope"/>.</summary>
    public static bool HasScope(ClaimsPrincipal user, string scope) =>
        user.FindAll("scope").Any(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal));

    private static SecurityKey SigningKey(ServerAuthConfig jwt, out string algorithm)
    {
        if (jwt.Hs256Secret is { } secret)
        {
            algorithm = SecurityAlgorithms.HmacSha256;
            return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
        }
        algorithm = SecurityAlgorithms.RsaSha256;
        var path = jwt.Rs256PublicKeyFile!;
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"server.auth.jwt.rs256_public_key_file {path}: cannot read ({e.Message})");
        }
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (ArgumentException)
        {
            rsa.Dispose();
            throw new LoadPipeException(ErrorKind.Usage, $"server.auth.jwt.rs256_public_key_file {path}: not a PEM RSA public key");
        }
        return new RsaSecurityKey(rsa);
    }
}
