using LoadPipe.Core.Errors;
using LoadPipe.Core.Locations;

namespace LoadPipe.Google.Auth;

/// <summary>The OAuth scopes each Google remote type needs; `lp auth login` asks for exactly these.</summary>
public static class GoogleScopes
{
    public const string Drive = "https://www.googleapis.com/auth/drive";
    public const string YouTubeUpload = "https://www.googleapis.com/auth/youtube.upload";
    /// <summary>For videos.list: checking that an earlier upload still exists before skipping a duplicate.</summary>
    public const string YouTubeReadOnly = "https://www.googleapis.com/auth/youtube.readonly";

    /// <summary>gdrive: drive; youtube: youtube.upload and youtube.readonly. Any other type is a usage error.</summary>
    public static IReadOnlyList<string> For(RemoteDefinition remote) => remote.Type switch
    {
        "gdrive" => [Drive],
        "youtube" => [YouTubeUpload, YouTubeReadOnly],
        _ => throw new LoadPipeException(ErrorKind.Usage,
            $"remote '{remote.Name}' is of type {remote.Type}: Google sign-in is for gdrive and youtube remotes"),
    };
}
