using LoadPipe.Core.Errors;
using LoadPipe.Core.Transfers;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Hosting.Options;

namespace LoadPipe.Hosting.Tests.Options;

public sealed class TransferOptionsBuilderTests
{
    private static TransferOptionsBuilder Builder(string yaml = "", Dictionary<string, string>? environment = null) =>
        new(ConfigReader.Parse(yaml, "/x/config.yaml"), name => environment?.GetValueOrDefault(name));

    private static string Refused(JobSettings flags)
    {
        var e = Assert.Throws<LoadPipeException>(() => Builder().Build(flags));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Theory]
    [InlineData(0, "--transfers 0: must be from 1 to 256")]
    [InlineData(257, "--transfers 257: must be from 1 to 256")]
    public void Build_TransfersOutOfRange_IsOneLineUsageError(int transfers, string message) =>
        Assert.Equal(message, Refused(new JobSettings { Transfers = transfers }));

    [Fact]
    public void Build_RetriesOutOfRange_IsOneLineUsageError() =>
        Assert.Equal("--retries 101: must be from 0 to 100", Refused(new JobSettings { Retries = 101 }));

    [Theory]
    [InlineData(1024L)]
    [InlineData(2L << 30)]
    [InlineData(4L << 30)] // past int: reported as given, not wrapped around
    public void Build_ChunkSizeOutOfRange_IsOneLineUsageError(long chunk) =>
        Assert.Equal($"--chunk-size {chunk}: must be from 64.0 KiB to 1.0 GiB", Refused(new JobSettings { ChunkSize = chunk }));

    [Fact]
    public void Build_NegativeBandwidthLimit_IsOneLineUsageError() =>
        Assert.Equal("--bwlimit -1: must be 0 B or more", Refused(new JobSettings { BandwidthLimit = -1 }));

    [Fact]
    public void Build_Bounds_AreAccepted()
    {
        var options = Builder().Build(new JobSettings { Transfers = 256, Retries = 0, ChunkSize = 64 << 10 });

        Assert.Equal((256, 0, 64 << 10), (options.Transfers, options.Retries, options.ChunkSize));
    }

    [Fact]
    public void Build_Layers_FlagsOverEnvironmentOverJobOverDefaults()
    {
        var builder = Builder("defaults:\n  transfers: 2\n  retries: 3\n  chunk_size: 1M\n  project: birds\n",
            new Dictionary<string, string> { ["LP_RETRIES"] = "7", ["LP_TRANSFERS"] = "9" });

        var options = builder.Build(new JobSettings { Transfers = 16 }, new JobSettings { Retries = 1, ChunkSize = 2 << 20 }, "sync");

        Assert.Equal((16, 7, 2 << 20, "birds", "sync"), (options.Transfers, options.Retries, options.ChunkSize, options.Project, options.Command));
    }

    [Fact]
    public void Validator_OptionsBuiltInCode_AreCheckedAgainstTheirRangeAttributes()
    {
        // A library user's options never pass through the config reader: the attributes are what checks them.
        var result = new TransferOptionsValidator().Validate(null, new TransferOptions { Transfers = 0, Retries = -1 });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Transfers: ", StringComparison.Ordinal) && f.Contains("1 and 256", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Retries: ", StringComparison.Ordinal) && f.Contains("0 and 100", StringComparison.Ordinal));
        Assert.False(new TransferOptionsValidator().Validate(null, new TransferOptions()).Failed);
    }
}
