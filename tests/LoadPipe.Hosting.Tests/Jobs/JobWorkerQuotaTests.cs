using LoadPipe.Hosting.Jobs;

namespace LoadPipe.Hosting.Tests.Jobs;

public sealed class JobWorkerQuotaTests
{
    [Fact]
    public void QuotaReset_YouTubesMessage_IsTheUtcTimeItNames()
    {
        const string message = "remote 'yt': daily YouTube quota reached: 1600 of 1600 units spent for 2026-12-07 (Pacific), an upload needs 1600; next reset at 2026-12-08 00:00 Pacific (2026-12-08T08:00:00Z)";

        Assert.Equal(DateTimeOffset.Parse("2026-12-08T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture), JobWorker.QuotaReset(message));
        Assert.Null(JobWorker.QuotaReset("quota spent, try tomorrow"));
    }

    [Fact]
    public void JobSpec_WithoutSettings_ReadsAsEmptySettings()
    {
        var spec = JobSpec.Parse("{}");

        Assert.NotNull(spec.Settings);
        Assert.Null(spec.Metadata);
        Assert.Equal(["zstd"], JobSpec.Parse(new JobSpec { Settings = new() { Process = ["zstd"] } }.ToJson()).Settings.Process);
    }
}
