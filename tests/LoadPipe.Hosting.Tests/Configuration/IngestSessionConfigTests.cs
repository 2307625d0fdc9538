using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Hosting.Tests.Configuration;

/// <summary>The upload session keys of `server.ingest`, and configs/ingest.yaml as shipped.</summary>
public sealed class IngestSessionConfigTests
{
    [Fact]
    public void Parse_SessionKeys_AreRead()
    {
        var ingest = ConfigReader.Parse("""
            server:
              ingest:
                resumable_uploads: false
                upload_session_ttl: 30m
            """, "/x/config.yaml").Server.Ingest;
        Assert.False(ingest.ResumableUploads);
        Assert.Equal(TimeSpan.FromMinutes(30), ingest.UploadSessionTtl);
    }

    [Fact]
    public void Parse_SessionTtlNotADuration_IsAUsageErrorNamingTheKey()
    {
        var e = Assert.Throws<LoadPipeException>(() => ConfigReader.Parse("server:\n  ingest:\n    upload_session_ttl: soon\n", "/x/config.yaml"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("upload_session_ttl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ShippedIngestConfig_HasTheSessionKeys()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoadPipe.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var ingest = ConfigReader.Load(Path.Combine(dir.FullName, "configs", "ingest.yaml")).Server.Ingest;
        Assert.True(ingest.ResumableUploads);
        Assert.Equal(TimeSpan.FromHours(2), ingest.UploadSessionTtl);
    }
}
