using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;
using LoadPipe.Storage.Http;
using LoadPipe.Storage.Local;

namespace LoadPipe.Core.Tests.Configuration;

public sealed class LocationResolverTests
{
    private static LocationResolver Resolver(params RemoteDefinition[] remotes) =>
        new([new LocalStorageFactory(), new StdioStorageFactory(), new HttpStorageFactory()], remotes.ToDictionary(r => r.Name));

    [Fact]
    public void Resolve_Kinds_AreRecognised()
    {
        var resolver = Resolver(new RemoteDefinition("web", "http", new Dictionary<string, string> { ["url"] = "https://h/base/" }));

        var stdio = resolver.Resolve("-");
        Assert.IsType<StdioStorage>(stdio.Storage);
        Assert.Equal(("", "", "-"), (stdio.Path, stdio.Name, stdio.Key));
        Assert.IsType<HttpStorage>(resolver.Resolve("https://host/a/b.bin").Storage);
        Assert.Equal("b.bin", resolver.Resolve("https://host/a/b.bin?sig=1").Name);
        Assert.IsType<LocalStorage>(resolver.Resolve("file:///tmp/x").Storage);
        Assert.Equal("/tmp/x", resolver.Resolve("file:///tmp/x").Path);
        var remote = resolver.Resolve("web:data/f.zst");
        Assert.Equal("data/f.zst", remote.Path);
        Assert.Equal("web:data/f.zst", remote.Uri);
        Assert.True(resolver.Resolve("out/").IsFolderHint);
    }

    [Theory]
    [InlineData("http://", "not a valid URL")]
    [InlineData("nosuch:file", "unknown remote 'nosuch'")]
    public void Resolve_Bad_UsageError(string text, string message)
    {
        var e = Assert.Throws<LoadPipeException>(() => Resolver().Resolve(text));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Create_RemoteWithUnknownTypeOrSetting_UsageErrorWithOrigin()
    {
        var badType = Assert.Throws<LoadPipeException>(() => Resolver(new RemoteDefinition("x", "ftp", new Dictionary<string, string>(), "c.yaml:3")));
        var badSetting = Assert.Throws<LoadPipeException>(() => Resolver(new RemoteDefinition("x", "local", new Dictionary<string, string> { ["rot"] = "/" }, "c.yaml:5")));

        Assert.StartsWith("c.yaml:3: remote 'x': unknown type 'ftp'", badType.Message);
        Assert.StartsWith("c.yaml:5: remote 'x': unknown setting 'rot'", badSetting.Message);
    }

    private sealed class ImplicitFactory : IStorageFactory
    {
        public string Type => "store";
        public IReadOnlySet<string> Settings { get; } = new HashSet<string>();
        public bool AllowsImplicitRemote => true;
        public Core.Storage.IStorage Create(RemoteDefinition remote) => new LocalStorage();
    }

    [Fact]
    public void Resolve_TypeNameOfImplicitFactory_WorksWithoutRemote()
    {
        var resolver = new LocationResolver([new LocalStorageFactory(), new ImplicitFactory()]);

        var location = resolver.Resolve("store:bucket/key");

        Assert.Equal(("bucket/key", "store:bucket/key"), (location.Path, location.Uri));
        Assert.Throws<LoadPipeException>(() => resolver.Resolve("local:x"));
    }

    /// <summary>A store of boxes: a remote points at the box its `box` setting names, and is keyed by it.</summary>
    private sealed class BoxFactory : IStorageFactory
    {
        public string Type => "box"; // its keys' scheme starts with it (IStorageFactory.KeyRoot)
        public IReadOnlySet<string> Settings { get; } = new HashSet<string> { "box", "secret" };
        public Core.Storage.IStorage Create(RemoteDefinition remote) => new LocalStorage();
        public string? KeyRoot(RemoteDefinition remote) => "box://" + remote.Require("box") + "/";
    }

    private static RemoteDefinition Box(string name, string box) =>
        new(name, "box", new Dictionary<string, string> { ["box"] = box, ["secret"] = "s3cr3t-" + name });

    [Fact]
    public void Key_RemotesPointingAtTheSamePlace_AreOneKeyWhateverTheirNames()
    {
        var mine = new LocationResolver([new LocalStorageFactory(), new BoxFactory()], new[] { Box("mine", "b1") }.ToDictionary(r => r.Name));
        var theirs = new LocationResolver([new LocalStorageFactory(), new BoxFactory()], new[] { Box("theirs", "b1"), Box("other", "b2") }.ToDictionary(r => r.Name));

        var a = mine.Resolve("mine:dir/a.bin");
        var b = theirs.Resolve("theirs:dir/a.bin");

        Assert.Equal(("box://b1/dir/a.bin", "mine:dir/a.bin"), (a.Key, a.Uri));
        Assert.Equal(a.Key, b.Key);
        Assert.NotEqual(a.Key, theirs.Resolve("other:dir/a.bin").Key);
        Assert.Equal("box://b1/dir/a.bin/c", a.Child("c").Key);
        Assert.DoesNotContain("s3cr3t", a.Key);
    }

    [Fact]
    public void Resolve_RemoteKey_IsTheRemoteOfThisConfigThatPointsThere()
    {
        var resolver = new LocationResolver([new LocalStorageFactory(), new BoxFactory()], new[] { Box("theirs", "b1"), Box("other", "b2") }.ToDictionary(r => r.Name));

        var back = resolver.Resolve("box://b2/dir/a.bin");
        var nowhere = Assert.Throws<LoadPipeException>(() => resolver.Resolve("box://b3/dir/a.bin"));

        Assert.Equal(("dir/a.bin", "other:dir/a.bin", "box://b2/dir/a.bin"), (back.Path, back.Uri, back.Key));
        Assert.Same(resolver.Resolve("other:x").Storage, back.Storage);
        Assert.Equal(ErrorKind.Usage, nowhere.Kind);
        Assert.Contains("no remote in the config points at", nowhere.Message);
    }

    /// <summary>A type whose key root is known only by asking its service (as Drive's My Drive): asked once, later.</summary>
    private sealed class AskingFactory : IStorageFactory
    {
        public int Asked;
        public string Type => "acct";
        public IReadOnlySet<string> Settings { get; } = new HashSet<string>();
        public Core.Storage.IStorage Create(RemoteDefinition remote) => new LocalStorage();
        public async ValueTask<string?> KeyRootAsync(RemoteDefinition remote, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            Interlocked.Increment(ref Asked);
            return "acct://account-7/";
        }
    }

    [Fact]
    public async Task ResolveAsync_KeyRootThatNeedsARequest_KeysByItAsksOnceAndTakesTheKeyBack()
    {
        var asking = new AskingFactory();
        var remotes = new[] { new RemoteDefinition("work", "acct", new Dictionary<string, string>()) }.ToDictionary(r => r.Name);
        var resolver = new LocationResolver([new LocalStorageFactory(), new BoxFactory(), asking], remotes);

        var named = await resolver.ResolveAsync("work:dir/a.bin");
        var back = await resolver.ResolveAsync("acct://account-7/dir/a.bin");
        var other = Assert.Throws<LoadPipeException>(() => resolver.Resolve("box://b1/x"));

        Assert.Equal(("acct://account-7/dir/a.bin", "work:dir/a.bin"), (named.Key, named.Uri));
        Assert.Equal(("dir/a.bin", "work:dir/a.bin"), (back.Path, back.Uri));
        Assert.Equal(1, asking.Asked);
        Assert.Contains("no remote in the config points at", other.Message);
    }

    [Fact]
    public void Redact_UrlWithSecrets_DropsThem()
    {
        Assert.Equal("https://host/a/b", Location.Redact("https://user:pw@host/a/b?X-Amz-Signature=abc#f"));
        Assert.Equal("/tmp/a?b", Location.Redact("/tmp/a?b"));
    }

    [Fact]
    public void Key_PresignedUrl_KeepsWhatNamesTheObjectAndDropsEverySecret()
    {
        var resolver = Resolver();

        var s3 = resolver.Resolve("https://user:pw@host/b/k.bin?versionId=7&X-Amz-Credential=AKID&X-Amz-Signature=abc&X-Amz-Security-Token=tok#f");
        var gcs = resolver.Resolve("https://host/o.bin?GoogleAccessId=svc&Expires=99&Signature=abc");
        var azure = resolver.Resolve("https://host/c/blob?sp=r&st=1&se=2&sv=2022&sr=b&sig=abc");

        Assert.Equal("https://host/b/k.bin?versionId=7", s3.Key);
        Assert.Equal("https://host/o.bin", gcs.Key);
        Assert.Equal("https://host/c/blob?sp=r&sr=b", azure.Key);
        Assert.Contains("X-Amz-Signature=abc", s3.Uri);
    }

    [Fact]
    public void Key_UrlSignedAgain_IsTheSame()
    {
        var resolver = Resolver();

        var first = resolver.Resolve("https://host/a.bin?X-Amz-Date=1&X-Amz-Signature=abc&access_token=t1");
        var second = resolver.Resolve("https://host/a.bin?X-Amz-Date=2&X-Amz-Signature=def&access_token=t2");

        Assert.Equal(first.Key, second.Key);
        Assert.NotEqual(first.Key, resolver.Resolve("https://host/b.bin?X-Amz-Signature=abc").Key);
    }

    [Fact]
    public void Key_LocalPath_NamesThisHostAndResolvesBackToThePath()
    {
        var resolver = Resolver();

        var local = resolver.Resolve("/tmp/lp-keys/a b.bin");
        var back = resolver.Resolve(local.Key);

        Assert.Equal($"file://{Location.ThisHost}/tmp/lp-keys/a b.bin", local.Key);
        Assert.Equal("/tmp/lp-keys/a b.bin", local.Uri);
        Assert.Equal((local.Path, local.Key), (back.Path, back.Key));
        Assert.Equal("/tmp/lp-keys/a b.bin", Location.Display(local.Key));
        Assert.Equal($"file://{Location.ThisHost}/tmp/lp-keys/a b.bin/c.txt", local.Child("c.txt").Key);
    }

    [Fact]
    public void Resolve_LocalKeyOfAnotherHost_IsRefused()
    {
        var e = Assert.Throws<LoadPipeException>(() => Resolver().Resolve("file://" + Location.ThisHost + "-other/tmp/a.bin"));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("not of this one", e.Message);
    }

    [Fact]
    public void RedactUrls_ErrorNamingASignedUrl_DropsItsQuery()
    {
        var message = Location.RedactUrls("GET https://host/a.bin?X-Amz-Signature=abc failed: 403 (see http://u:p@h/x?token=t)");

        Assert.Equal("GET https://host/a.bin failed: 403 (see http://h/x)", message);
    }

    [Fact]
    public async Task LocalRemoteWithRoot_PathClimbingOut_IsRefused()
    {
        var storage = new LocalStorage("/tmp/lp-root-test");

        var e = await Assert.ThrowsAsync<LoadPipeException>(() => storage.StatAsync("../../etc/passwd"));

        Assert.Contains("outside", e.Message);
    }
}
