namespace LoadPipe.Testing.Google;

/// <summary>The OAuth scopes the fake enforces (Google's names).</summary>
public static class GoogleScopes
{
    public const string Drive = "https://www.googleapis.com/auth/drive";
    public const string DriveFile = "https://www.googleapis.com/auth/drive.file";
    public const string DriveReadOnly = "https://www.googleapis.com/auth/drive.readonly";
    public const string YouTube = "https://www.googleapis.com/auth/youtube";
    public const string YouTubeUpload = "https://www.googleapis.com/auth/youtube.upload";
    public const string YouTubeReadOnly = "https://www.googleapis.com/auth/youtube.readonly";
    public const string YouTubeForceSsl = "https://www.googleapis.com/auth/youtube.force-ssl";

    internal static readonly string[] DriveRead = [Drive, DriveFile, DriveReadOnly, "https://www.googleapis.com/auth/drive.metadata.readonly"];
    internal static readonly string[] DriveWrite = [Drive, DriveFile];
    internal static readonly string[] YouTubeInsert = [YouTube, YouTubeUpload, YouTubeForceSsl];
    internal static readonly string[] YouTubeList = [YouTube, YouTubeReadOnly, YouTubeForceSsl];
}
