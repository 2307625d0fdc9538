using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadPipe.Storage.Tus;

/// <summary>
/// What a new process needs to continue a tus upload, saved by the engine in the manifest as soon as the upload is
/// created (before the first PATCH, or with the first chunk when that chunk made it: creation-with-upload): <c>{"upload":"https://host/files/24e5...","path":"big.iso","length":1048576}</c>.
/// The upload URL is, on a server without other auth, the one credential of that upload: the manifest keeps it, no
/// message prints it.
/// </summary>
/// <param name="Upload">The upload URL (the creation's Location, made absolute).</param>
/// <param name="Path">The path the upload was created for: a state saved for another path is not resumed.</param>
/// <param name="Length">The Upload-Length announced at creation, or -1 when it was deferred.</param>
internal sealed record TusResumeState(string Upload, string Path, long Length)
{
    public string ToJson() => JsonSerializer.Serialize(this, TusJson.Default.TusResumeState);

    /// <summary>Null when <paramref name="json"/> is not a tus upload's state.</summary>
    public static TusResumeState? TryParse(string json)
    {
        try
        {
            var state = JsonSerializer.Deserialize(json, TusJson.Default.TusResumeState);
            return state is { Upload.Length: > 0, Path: not null } && Uri.TryCreate(state.Upload, UriKind.Absolute, out _) ? state : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Compiled JSON for the adapter's records: no reflection at run time (lp is compiled ahead of time).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TusResumeState))]
internal sealed partial class TusJson : JsonSerializerContext;
