namespace LoadPipe.Server.Ingest;

/// <summary>
/// A refusal of the ingest API: an HTTP status, a stable code clients may branch on (`file_too_large`,
/// `file_in_readonly_storage`) and a one-line message. It becomes the body `{"error": CODE, "message": MESSAGE}`.
/// </summary>
public sealed class IngestException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
}

/// <summary>The stable error codes, each named once.</summary>
public static class IngestErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string MissingFile = "missing_file";
    public const string FileTooLarge = "file_too_large";
    public const string MimeTypeNotAllowed = "mime_type_not_allowed";
    public const string ChecksumMismatch = "checksum_mismatch";
    public const string InvalidFilename = "invalid_filename";
    public const string InvalidMetadata = "invalid_metadata";
    public const string FileNotFound = "file_not_found";
    public const string FileInReadonlyStorage = "file_in_readonly_storage";
    public const string NoStorageAvailable = "no_storage_available";
    public const string StorageError = "storage_error";
    public const string SagaFailed = "saga_failed";
    public const string SagaTimeout = "saga_timeout";
    public const string TooManyFiles = "too_many_files";
    public const string BatchTooLarge = "batch_too_large";
    public const string RangeNotSatisfiable = "range_not_satisfiable";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "insufficient_scope";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string RateLimited = "rate_limited";
    public const string InternalError = "internal_error";
    public const string VirusDetected = "virus_detected";
    public const string VirusScanFailed = "virus_scan_failed";

    /// <summary>The code of a response some other part left without a body (auth's 401 and 403, routing's 404).</summary>
    public static string ForStatus(int status) => status switch
    {
        400 => InvalidRequest,
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        413 => FileTooLarge,
        429 => RateLimited,
        >= 500 => InternalError,
        _ => InvalidRequest,
    };
}
