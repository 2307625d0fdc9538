using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LoadPipe.Server.Tests.Support;

/// <summary>JWTs signed as an identity provider would sign them.</summary>
public static class Tokens
{
    public static string Hs256(string? scope, string secret = RunningServer.Secret, DateTime? expires = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = "tester" };
        if (scope is not null) claims["scope"] = scope;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Expires = expires ?? DateTime.UtcNow.AddHours(1),
            NotBefore = (expires ?? DateTime.UtcNow.AddHours(1)).AddHours(-2),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
    }

    public static string Rs256(System.Security.Cryptography.RSA key, string scope) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", "tester"), new Claim("scope", scope)]),
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key), SecurityAlgorithms.RsaSha256),
        });
}
