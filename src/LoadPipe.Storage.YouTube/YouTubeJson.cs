using System.Text.Json.Serialization;

namespace LoadPipe.Storage.YouTube;

/// <summary>The parts of a video resource the sink reads: its id (the rest is the user's own metadata echoed).</summary>
internal sealed record VideoResource(string? Id);

/// <summary>videos.list's answer: the videos among the ids asked for that exist.</summary>
internal sealed record VideoListResponse(IReadOnlyList<VideoResource>? Items);

/// <summary>channels.list mine=true's answer: the channel the credentials sign in to (one item).</summary>
internal sealed record ChannelListResponse(IReadOnlyList<VideoResource>? Items);

/// <summary>Compiled JSON of the sink: no reflection at run time (lp is compiled ahead of time).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(VideoResource))]
[JsonSerializable(typeof(VideoListResponse))]
[JsonSerializable(typeof(ChannelListResponse))]
[JsonSerializable(typeof(UploadHistoryEntry))]
internal sealed partial class YouTubeJson : JsonSerializerContext;
