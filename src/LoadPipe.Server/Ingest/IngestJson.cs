using System.Text.Json;
using System.Text.Json.Serialization;
using LoadPipe.Server.Ingest.Files;

namespace LoadPipe.Server.Ingest;

/// <summary>Every error body of the ingest API.</summary>
public sealed record ErrorBody(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("message")] string Message);

/// <summary>The 201 answer of an upload: the seed's fields.</summary>
public sealed record UploadedBody(
    [property: JsonPropertyName("file_id")] string FileId,
    [property: JsonPropertyName("storage_element_id")] string StorageElementId,
    [property: JsonPropertyName("storage_filename")] string StorageFilename,
    [property: JsonPropertyName("size_bytes")] long SizeBytes,
    [property: JsonPropertyName("md5_hash")] string Md5Hash,
    [property: JsonPropertyName("sha256_hash")] string Sha256Hash,
    [property: JsonPropertyName("uploaded_at")] DateTimeOffset UploadedAt);

/// <summary>Source-generated JSON for the ingest API (Native AOT has no reflection-based serializer).</summary>
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(UploadedBody))]
[JsonSerializable(typeof(FileRecord))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(StorageElements.StorageElementsBody))]
[JsonSerializable(typeof(Sagas.SagaRecord))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(Audit.AuditEntry))]
[JsonSerializable(typeof(Publishing.FileEvent))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class IngestJson : JsonSerializerContext;
