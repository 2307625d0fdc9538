namespace LoadPipe.Server.Tus;

/// <summary>The tus 1.0.0 header names and fixed values (protocol.md, "Headers" of the core and each extension).</summary>
public static class TusHeaders
{
    public const string Version = "1.0.0";
    public const string Resumable = "Tus-Resumable";
    public const string TusVersion = "Tus-Version";
    public const string Extension = "Tus-Extension";
    public const string MaxSize = "Tus-Max-Size";
    public const string ChecksumAlgorithm = "Tus-Checksum-Algorithm";
    public const string UploadOffset = "Upload-Offset";
    public const string UploadLength = "Upload-Length";
    public const string UploadDeferLength = "Upload-Defer-Length";
    public const string UploadMetadata = "Upload-Metadata";
    public const string UploadExpires = "Upload-Expires";
    public const string UploadChecksum = "Upload-Checksum";
    public const string UploadConcat = "Upload-Concat";
    public const string MethodOverride = "X-HTTP-Method-Override";
    public const string OffsetOctetStream = "application/offset+octet-stream";

    /// <summary>Every extension this server implements, as OPTIONS announces them. Not concatenation-unfinished: a final
    /// upload is made of finished partial uploads only; not checksum-trailer.</summary>
    public const string Extensions = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation";

    /// <summary>What a browser may send and read (CORS).</summary>
    public static readonly string[] RequestHeaders =
        ["Authorization", "Content-Type", Resumable, UploadOffset, UploadLength, UploadDeferLength, UploadMetadata, UploadChecksum, UploadConcat, MethodOverride, "X-Requested-With"];

    public static readonly string[] ResponseHeaders =
        [UploadOffset, UploadLength, UploadDeferLength, UploadMetadata, UploadExpires, UploadConcat, "Location", Resumable, TusVersion, Extension, MaxSize, ChecksumAlgorithm];

    public static readonly string[] Methods = ["POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "GET"];
}
