using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadPipe.Storage.YouTube;

/// <summary>
/// What a new process needs to continue a video upload, saved by the engine as soon as videos.insert started the
/// session: <c>{"session":"https://...upload_id=...","path":"talk.mp4","total":123}</c>. The session URI is the
/// credential for that one upload: the manifest's sink state stays private, and no message prints it. The quota was
/// spent when the session started; continuing it spends nothing.
/// </summary>
/// <param name="Total">The length announced at the start, or -1 when unknown (output of stages).</param>
internal sealed record YouTubeResumeState(string Session, string Path, long Total)
{
    public string ToJson() => JsonSerializer.Serialize(this, YouTubeJson.Default.YouTubeResumeState);

    /// <summary>Null when <paramref name="json"/> is not a state this adapter wrote.</summary>
    public static YouTubeResumeState? TryParse(string json)
    {
        try
        {
            var state = JsonSerializer.Deserialize(json, YouTubeJson.Default.YouTubeResumeState);
            return state is { Session.Length: > 0, Path: not null } && Uri.TryCreate(state.Session, UriKind.Absolute, out _) ? state : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>The parts of a video resource the sink reads: its id (the rest is the user's own metadata echoed).</summary>
internal sealed record VideoResource(string? Id);

/// <summary>videos.list's answer: the videos among the ids asked for that exist.</summary>
internal sealed record VideoListResponse(IReadOnlyList<VideoResource>? Items);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(YouTubeResumeState))]
[JsonSerializable(typeof(VideoResource))]
[JsonSerializable(typeof(VideoListResponse))]
internal sealed partial class YouTubeJson : JsonSerializerContext;
