using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadPipe.Google.Upload;

/// <summary>
/// What a new process needs to continue a resumable upload (a Drive file, a YouTube video), saved by the engine in
/// the manifest as soon as the session is started, before the first chunk:
/// <c>{"session":"https://...upload_id=...","path":"Projects/clean/x","total":-1}</c>. The session URI is itself the
/// credential for that one upload (Google asks no token for it), which is why the manifest's sink state must stay
/// private and why no message prints it. The JSON shape is the one Drive and YouTube saved before they shared this
/// record: states in existing manifests still parse.
/// </summary>
/// <param name="Session">The session URI.</param>
/// <param name="Path">The destination path the upload was started for: a state saved for another path is not resumed.</param>
/// <param name="Total">The content length announced at the start, or -1 when unknown (output of stages).</param>
public sealed record ResumableUploadState(string Session, string Path, long Total)
{
    public string ToJson() => JsonSerializer.Serialize(this, ResumableUploadJson.Default.ResumableUploadState);

    /// <summary>Null when <paramref name="json"/> is not a state of a resumable upload.</summary>
    public static ResumableUploadState? TryParse(string json)
    {
        try
        {
            var state = JsonSerializer.Deserialize(json, ResumableUploadJson.Default.ResumableUploadState);
            return state is { Session.Length: > 0, Path: not null } && Uri.TryCreate(state.Session, UriKind.Absolute, out _) ? state : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Compiled JSON for <see cref="ResumableUploadState"/>: no reflection at run time (lp is compiled ahead of time).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ResumableUploadState))]
internal sealed partial class ResumableUploadJson : JsonSerializerContext;
