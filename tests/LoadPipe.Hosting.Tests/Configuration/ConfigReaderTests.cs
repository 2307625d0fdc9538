using LoadPipe.Hosting.Configuration;
using LoadPipe.Core.Errors;

namespace LoadPipe.Hosting.Tests.Configuration;

public sealed class ConfigReaderTests
{
    private static LoadPipeException Fails(string yaml)
    {
        var e = Assert.Throws<LoadPipeException>(() => ConfigReader.Parse(yaml, "/x/config.yaml"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        return e;
    }

    [Fact]
    public void Parse_FullExample_ReadsRemotesDefaultsAndJobs()
    {
        var config = ConfigReader.Parse("""
            remotes:
              web:
                type: http
                url: https://example.org/files/
            defaults:
              transfers: 8
            jobs:
              - name: logs
                source: web:data.jsonl.zst
                destination: ./out/
                process: [unzstd, 'grep:"level":"error"', zstd]
                chunk_size: 4M
                include: ["*.zst"]
                extensions: [wav, jpg]
            """, "/x/config.yaml");

        Assert.Equal("http", config.Remotes["web"].Type);
        Assert.Equal("https://example.org/files/", config.Remotes["web"].Settings["url"]);
        Assert.Equal(8, config.Defaults.Transfers);
        var job = Assert.Single(config.Jobs);
        Assert.Equal("logs", job.Name);
        Assert.Equal(["unzstd", "grep:\"level\":\"error\"", "zstd"], job.Settings.Process);
        Assert.Equal(4L << 20, job.Settings.ChunkSize);
        Assert.Equal(["wav", "jpg"], job.Settings.Extensions);
    }

    [Fact]
    public void Parse_BadSize_NamesFileLineAndKey()
    {
        var e = Fails("jobs:\n  - source: a\n    destination: b\n    chunk_size: 8Q\n");

        Assert.Equal("config.yaml:4: jobs[0].chunk_size: '8Q' is not a size (examples: 512K, 8M, 1G)", e.Message);
    }

    [Fact]
    public void Parse_SyntaxError_NamesLine()
    {
        var e = Fails("remotes:\n  web: [unclosed\n");

        Assert.StartsWith("config.yaml:", e.Message);
        Assert.Matches(@"^config\.yaml:\d+:\d+: ", e.Message);
    }

    [Theory]
    [InlineData("bogus: 1\n", "config.yaml:1: unknown key 'bogus'")]
    [InlineData("remotes:\n  web:\n    url: x\n", "config.yaml:3: remotes.web: 'type' is missing")]
    [InlineData("jobs:\n  - source: a\n", "config.yaml:2: jobs[0]: 'destination' is missing")]
    [InlineData("jobs:\n  - source: a\n    destination: b\n    transfers: many\n", "config.yaml:4: jobs[0].transfers: 'many' must be a whole number")]
    [InlineData("jobs:\n  - source: a\n    destination: b\n    colour: red\n", "config.yaml:4: jobs[0]: unknown key 'colour'")]
    [InlineData("jobs: 3\n", "config.yaml:1: jobs: must be a list")]
    public void Parse_Mistake_ReportsKeyAndLine(string yaml, string message)
    {
        Assert.StartsWith(message, Fails(yaml).Message);
    }

    [Fact]
    public void Redact_SecretValues_Hidden()
    {
        var text = "remotes:\n  s3:\n    type: s3\n    access_key_id: AKIA1\n    secret_access_key: hunter2\n  drive:\n    client_secret: 'x y'\n    token: abc\n    password:\n";

        var redacted = ConfigReader.Redact(text);

        Assert.DoesNotContain("hunter2", redacted);
        Assert.DoesNotContain("x y", redacted);
        Assert.DoesNotContain("abc", redacted);
        Assert.Contains("access_key_id: AKIA1", redacted);
        Assert.Contains("secret_access_key: \"***\"", redacted);
        Assert.Contains("password:\n", redacted);
    }

    [Fact]
    public void Parse_RemoteWithAHeadersMap_GivesOneSettingPerHeader()
    {
        var config = ConfigReader.Parse("remotes:\n  up:\n    type: tus\n    url: https://tus.example.org/files/\n    headers:\n      X-Upload-Key: k3y\n      X-Team: blue\n",
            "/x/config.yaml");

        Assert.Equal("k3y", config.Remotes["up"].Settings["headers.X-Upload-Key"]);
        Assert.Equal("blue", config.Remotes["up"].Settings["headers.X-Team"]);
    }

    [Fact]
    public void Redact_HeadersMap_EveryValueHidden()
    {
        var text = "remotes:\n  up:\n    type: tus\n    headers:\n      X-Upload-Key: k3y-s3cret\n      # a comment\n      X-Other: 'two words'\n    timeout: 30s\n  inline:\n    headers: {X-Key: inl1ne}\n";

        var redacted = ConfigReader.Redact(text);

        Assert.DoesNotContain("k3y-s3cret", redacted);
        Assert.DoesNotContain("two words", redacted);
        Assert.DoesNotContain("inl1ne", redacted);
        Assert.Contains("      X-Upload-Key: \"***\"", redacted);
        Assert.Contains("    timeout: 30s", redacted);
    }

    [Fact]
    public void Parse_Empty_IsAnEmptyConfig()
    {
        var config = ConfigReader.Parse("", "/x/config.yaml");

        Assert.Empty(config.Remotes);
        Assert.Empty(config.Jobs);
    }

    [Fact]
    public void Over_FlagsWinOverEnvironmentWinOverJob()
    {
        var flags = new JobSettings { Transfers = 2 };
        var env = EnvironmentSettings.Read(name => name switch { "LP_TRANSFERS" => "3", "LP_CHUNK_SIZE" => "2M", _ => null });
        var job = new JobSettings { Transfers = 4, ChunkSize = 1 << 20, Retries = 9 };

        var merged = flags.Over(env).Over(job);

        Assert.Equal(2, merged.Transfers);
        Assert.Equal(2L << 20, merged.ChunkSize);
        Assert.Equal(9, merged.Retries);
    }

    [Fact]
    public void EnvironmentRead_BadValue_NamesTheVariable()
    {
        var e = Assert.Throws<LoadPipeException>(() => EnvironmentSettings.Read(name => name == "LP_CHUNK_SIZE" ? "lots" : null));

        Assert.Contains("LP_CHUNK_SIZE", e.Message);
    }
}
