using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadPipe.Server.Ingest.Files;

/// <summary>
/// A file the ingest API holds: where it is (element and object name), what it is (size, type, hashes of its
/// bytes as uploaded) and whose. `GET /api/files/{id}` answers it as is, and `lp files show ID` prints it.
/// </summary>
public sealed record FileRecord
{
    [JsonPropertyName("file_id")] public required string FileId { get; init; }
    [JsonPropertyName("original_filename")] public required string OriginalFilename { get; init; }
    [JsonPropertyName("storage_element_id")] public required string StorageElementId { get; init; }
    [JsonPropertyName("storage_filename")] public required string StorageFilename { get; init; }
    [JsonPropertyName("size_bytes")] public required long SizeBytes { get; init; }
    [JsonPropertyName("mime_type")] public required string MimeType { get; init; }
    [JsonPropertyName("md5_hash")] public required string Md5Hash { get; init; }
    [JsonPropertyName("sha256_hash")] public required string Sha256Hash { get; init; }
    [JsonPropertyName("owner")] public required string Owner { get; init; }
    [JsonPropertyName("uploaded_at")] public required DateTimeOffset UploadedAt { get; init; }

    /// <summary>brotli or gzip when the object at the element holds the bytes compressed; null when it holds them as uploaded.
    /// Size and hashes are always the original bytes'; `/content` decompresses.</summary>
    [JsonPropertyName("compression")] public string? Compression { get; init; }

    /// <summary>The object's size at the element, when compressed.</summary>
    [JsonPropertyName("stored_size_bytes")] public long? StoredSizeBytes { get; init; }

    /// <summary>Stored size over original size (0.25: a quarter), when compressed.</summary>
    [JsonPropertyName("compression_ratio")] public double? CompressionRatio { get; init; }

    /// <summary>The bytes the file takes at its element (what capacities count).</summary>
    [JsonIgnore] public long BytesAtElement => StoredSizeBytes ?? SizeBytes;

    /// <summary>The client's `metadata` form field: a JSON object, kept as sent; null when none was given.</summary>
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }
}
