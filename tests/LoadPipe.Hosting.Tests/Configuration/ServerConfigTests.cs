using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Hosting.Tests.Configuration;

public sealed class ServerConfigTests
{
    private static LoadPipeException Fails(string yaml)
    {
        var e = Assert.Throws<LoadPipeException>(() => ConfigReader.Parse(yaml, "/x/config.yaml"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        return e;
    }

    [Fact]
    public void Parse_ServerSection_ReadsEveryKey()
    {
        var server = ConfigReader.Parse("""
            server:
              listen: 0.0.0.0:9000
              auth:
                jwt:
                  hs256_secret: "0123456789abcdef0123456789abcdef"
                  issuer: https://issuer.example.org
                  audience: lp
              uploads:
                destination: /srv/uploads/
                staging: /srv/partial/
                max_size: 10G
                expiration: 24h
                md5: true
              cors:
                origins: [https://app.example.org]
              limits:
                max_header_size: 16K
                requests_per_minute: 100
                min_body_rate: 1K
                header_timeout: 15s
            """, "/x/config.yaml").Server;

        Assert.Equal("0.0.0.0:9000", server.Listen);
        Assert.Equal("0123456789abcdef0123456789abcdef", server.Auth!.Hs256Secret);
        Assert.Equal("https://issuer.example.org", server.Auth.Issuer);
        Assert.Equal("lp", server.Auth.Audience);
        Assert.False(server.Auth.None);
        Assert.Equal("/srv/uploads/", server.Uploads.Destination);
        Assert.True(server.Uploads.Md5);
        Assert.Equal("/srv/partial/", server.Uploads.Staging);
        Assert.Equal(10L << 30, server.Uploads.MaxSize);
        Assert.Equal(TimeSpan.FromHours(24), server.Uploads.Expiration);
        Assert.Equal(["https://app.example.org"], server.CorsOrigins);
        Assert.Equal(16 << 10, server.Limits.MaxHeaderSize);
        Assert.Equal(100, server.Limits.RequestsPerMinute);
        Assert.Equal(1024, server.Limits.MinBodyRate);
        Assert.Equal(TimeSpan.FromSeconds(15), server.Limits.HeaderTimeout);
    }

    [Fact]
    public void Parse_AuthNone_IsNone()
    {
        var server = ConfigReader.Parse("server:\n  auth: none\n", "/x/config.yaml").Server;
        Assert.True(server.Auth!.None);
    }

    [Fact]
    public void Parse_NoServerSection_LeavesEverythingUnset()
    {
        var server = ConfigReader.Parse("defaults:\n  transfers: 2\n", "/x/config.yaml").Server;
        Assert.Null(server.Auth);
        Assert.Null(server.Uploads.Destination);
    }

    [Theory]
    [InlineData("server:\n  port: 80\n", "config.yaml:2: server: unknown key 'port'")]
    [InlineData("server:\n  uploads:\n    expiration: soon\n", "config.yaml:3: server.uploads.expiration: 'soon' is not a duration")]
    [InlineData("server:\n  uploads:\n    max_size: big\n", "config.yaml:3: server.uploads.max_size: 'big' is not a size")]
    [InlineData("server:\n  auth: yes\n", "config.yaml:2: server.auth: give 'none' or a 'jwt:' mapping")]
    [InlineData("server:\n  auth:\n    jwt:\n      issuer: x\n", "config.yaml:4: server.auth.jwt: give exactly one of hs256_secret and rs256_public_key_file")]
    [InlineData("server:\n  auth:\n    jwt:\n      hs256_secret: short\n", "config.yaml:4: server.auth.jwt.hs256_secret: use at least 32 characters")]
    [InlineData("server:\n  auth:\n    basic: {}\n", "config.yaml:3: server.auth: unknown key 'basic' (known: jwt)")]
    public void Parse_BadServerSection_NamesLineAndKey(string yaml, string expected) =>
        Assert.StartsWith(expected, Fails(yaml).Message);
}
