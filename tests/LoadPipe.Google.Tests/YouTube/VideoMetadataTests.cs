using LoadPipe.Core.Errors;
using LoadPipe.Storage.YouTube;

namespace LoadPipe.Google.Tests.YouTube;

public sealed class VideoMetadataTests
{
    [Fact]
    public void Parse_FullResource_KeepsEveryField()
    {
        var meta = VideoMetadata.Parse("""
            {"snippet":{"title":"T","description":"D","tags":["a","b c"],"categoryId":22},"status":{"privacyStatus":"public"}}
            """, "--meta m.json");

        Assert.Equal(("T", "D", "22", "public"), (meta.Title, meta.Description, meta.CategoryId, meta.Privacy));
        Assert.Equal(["a", "b c"], meta.Tags);
    }

    [Theory]
    [InlineData("[1]", "--meta m.json: must be a JSON object")]
    [InlineData("{\"snippet\":", "--meta m.json: not valid JSON")]
    [InlineData("{\"contentDetails\":{}}", "--meta m.json: 'contentDetails' is not sent")]
    [InlineData("{\"snippet\":{\"titel\":\"x\"}}", "--meta m.json: snippet.titel is not a field LoadPipe sends")]
    [InlineData("{\"snippet\":{\"title\":\"\"}}", "--meta m.json: snippet.title must be 1 to 100 characters")]
    [InlineData("{\"snippet\":{\"title\":\"a<b\"}}", "--meta m.json: snippet.title may not contain '<' or '>'")]
    [InlineData("{\"snippet\":{\"tags\":\"a,b\"}}", "--meta m.json: snippet.tags must be an array of strings")]
    [InlineData("{\"snippet\":{\"categoryId\":\"music\"}}", "--meta m.json: snippet.categoryId 'music' must be a number")]
    [InlineData("{\"status\":{\"privacyStatus\":\"secret\"}}", "--meta m.json: status.privacyStatus 'secret' must be private, unlisted or public")]
    public void Parse_Mistake_OneClearUsageLine(string json, string start)
    {
        var e = Assert.Throws<LoadPipeException>(() => VideoMetadata.Parse(json, "--meta m.json"));

        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.StartsWith(start, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void With_Flags_OverrideTheFile()
    {
        var meta = VideoMetadata.Parse("""{"snippet":{"title":"From file","tags":["x"]},"status":{"privacyStatus":"public"}}""", "f")
            .With(title: "From flag", tags: ["y", "z"], privacy: "unlisted");

        Assert.Equal(("From flag", "unlisted"), (meta.Title, meta.Privacy));
        Assert.Equal(["y", "z"], meta.Tags);
    }

    [Fact]
    public void InsertBody_NoTitleNoPrivacy_FileNameAndPrivate()
    {
        var body = VideoMetadata.Parse(VideoMetadata.Empty.ToJson(), "x").InsertBody("talk <final>");

        var again = VideoMetadata.Parse(body, "body");
        Assert.Equal(("talk (final)", "private"), (again.Title, again.Privacy));
    }
}
