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
}
