using LoadPipe.Core.Manifest;

namespace LoadPipe.Manifest.Tests;

public sealed class SourceIdentityTests
{
    private static readonly SourceIdentity Identity = new(100, "v1", DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));

    [Fact]
    public void SameAs_Unknown_NeverMatches()
    {
        var unknown = new SourceIdentity(-1, null, null);

        Assert.False(unknown.SameAs(unknown));
        Assert.True(Identity.SameAs(Identity with { }));
        Assert.False(Identity.SameAs(Identity with { Version = "v2" }));
    }

    [Fact]
    public void SameAs_VersionRecordedBeforeFieldsWereAdded_ComparedOnTheFieldsItHas()
    {
        var recorded = Identity with { Version = "8dc1-100" };
        var now = Identity with { Version = "8dc1-100;8dc2-7" };

        Assert.True(recorded.SameAs(now));
        Assert.True(now.SameAs(recorded));
        Assert.False(recorded.SameExactlyAs(now));
        Assert.False(recorded.SameAs(Identity with { Version = "8dc1-101;8dc2-7" }));
        Assert.False(now.SameAs(Identity with { Version = "8dc1-100;8dc3-7" }));
        Assert.False((Identity with { Version = "8dc1-10" }).SameAs(now));
    }
}
