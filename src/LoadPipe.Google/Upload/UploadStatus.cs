namespace LoadPipe.Google.Upload;

/// <summary>Where a resumable upload session stands after a chunk or a status query.</summary>
public enum UploadState
{
    /// <summary>308 Resume Incomplete: the server holds <see cref="UploadStatus.Stored"/> bytes and wants the rest.</summary>
    Incomplete,
    /// <summary>200/201: the upload is finished; <see cref="UploadStatus.Resource"/> is the created resource.</summary>
    Complete,
    /// <summary>404/410: the session is unknown or expired (Google keeps them about a week). Start the file again.</summary>
    SessionGone,
}

/// <param name="Stored">Bytes the server holds from the start of the file (Incomplete; the total when Complete).</param>
/// <param name="Resource">The JSON body of the final answer (Complete): the file or video resource.</param>
public sealed record UploadStatus(UploadState State, long Stored = 0, string? Resource = null)
{
    public static UploadStatus Gone { get; } = new(UploadState.SessionGone);
}
