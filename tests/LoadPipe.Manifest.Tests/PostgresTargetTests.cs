using LoadPipe.Core.Errors;
using LoadPipe.Manifest.Postgres;
using Npgsql;

namespace LoadPipe.Manifest.Tests;

/// <summary>Reading --manifest values as PostgreSQL targets: no server needed.</summary>
public sealed class PostgresTargetTests
{
    [Theory]
    [InlineData("postgres://u@h/db", true)]
    [InlineData("PostgreSQL://u@h/db", true)]
    [InlineData("Host=db.example;Database=lp", true)]
    [InlineData("Username=u;Host=db.example", true)]
    [InlineData("/home/u/.local/share/loadpipe/manifest.db", false)]
    [InlineData("manifest.db", false)]
    [InlineData("https://example.com/x", false)]
    public void Recognizes_UrlsAndConnectionStrings_NotPaths(string manifest, bool expected) =>
        Assert.Equal(expected, PostgresManifest.Recognizes(manifest));

    [Fact]
    public void Parse_Url_DecodesUserPasswordDatabaseAndLibpqParameters()
    {
        var b = PostgresTarget.Parse("postgresql://lp%20user:p%40ss%3Aw%2Fd@db.example:6543/load%20pipe?sslmode=verify-full&application_name=lp-a&connect_timeout=7");

        Assert.Equal(("db.example", 6543, "lp user", "p@ss:w/d", "load pipe"), (b.Host, b.Port, b.Username, b.Password, b.Database));
        Assert.Equal((SslMode.VerifyFull, "lp-a", 7), (b.SslMode, b.ApplicationName, b.Timeout));
        Assert.Equal("postgresql://lp user@db.example:6543/load pipe", PostgresTarget.Describe(b));
    }

    [Fact]
    public void Parse_UrlWithoutPortOrUser_KeepsNpgsqlDefaults()
    {
        var b = PostgresTarget.Parse("postgres://[::1]/lp");

        Assert.Equal(("::1", 5432, null, "lp"), (b.Host, b.Port, b.Username, b.Database));
    }

    [Fact]
    public void Parse_ConnectionString_IsNpgsqls()
    {
        var b = PostgresTarget.Parse("Host=db;Port=5433;Username=u;Password=pw;Database=d");

        Assert.Equal(("db", 5433, "u", "pw", "d"), (b.Host, b.Port, b.Username, b.Password, b.Database));
        Assert.Equal("postgresql://u@db:5433/d", PostgresTarget.Describe(b));
    }

    [Theory]
    [InlineData("postgres://postgres:s3cret@127.0.0.1:1/lp")] // nothing listens on port 1
    [InlineData("postgres://postgres:s3cret@127.0.0.1:notaport/lp")]
    [InlineData("postgres://postgres:s3cret@127.0.0.1/lp?no_such_option=1")]
    [InlineData("Host=127.0.0.1;Port=1;Username=postgres;Password=s3cret;Timeout=5")]
    [InlineData("Host=127.0.0.1;Password=s3cret;Bogus=1")]
    [InlineData("Host=127.0.0.1;Port=-5;Password=s3cret")]
    public async Task Open_BadConnectionInfo_OneLineUsageErrorWithoutPassword(string target)
    {
        var e = await Assert.ThrowsAsync<LoadPipeException>(() => PostgresManifest.OpenAsync(target));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("manifest", e.Message, StringComparison.Ordinal);
    }
}
