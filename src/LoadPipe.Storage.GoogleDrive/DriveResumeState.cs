using System.Text.Json;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// What a new process needs to continue an upload, saved by the engine in the manifest as soon as the session is
/// started (before the first chunk): <c>{"session":"https://...upload_id=...","path":"Projects/clean/x","total":-1}</c>.
/// The session URI is itself the credential for that one upload (Google asks no token for it), which is why the
/// manifest's sink state must stay private and why no message prints it.
/// </summary>
/// <param name="Total">The content length announced at the start, or -1 when unknown (output of stages).</param>
internal sealed record DriveResumeState(string Session, string Path, long Total)
{
    public string ToJson() => JsonSerializer.Serialize(this, DriveJson.Default.DriveResumeState);

    /// <summary>Null when <paramref name="json"/> is not a state this adapter wrote.</summary>
    public static DriveResumeState? TryParse(string json)
    {
        try
        {
            var state = JsonSerializer.Deserialize(json, DriveJson.Default.DriveResumeState);
            return state is { Session.Length: > 0, Path: not null } && Uri.TryCreate(state.Session, UriKind.Absolute, out _) ? state : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
