using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadPipe.Storage.S3;

/// <summary>One acknowledged part of a multipart upload: its number, its ETag (unquoted) and its size.</summary>
[JsonConverter(typeof(S3PartConverter))]
internal sealed record S3Part(int Number, string ETag, long Size);

/// <summary>
/// What a new process needs to continue a multipart upload, saved by the engine with every confirmed chunk:
/// <c>{"bucket":"b","key":"k","uploadId":"...","partSize":5242880,"parts":[[1,"etag",5242880],...]}</c>.
/// The part ETags are needed for CompleteMultipartUpload, and let a resume trust this record alone when the server
/// cannot list parts. partSize is the smallest part the upload writes (every part but the last).
/// </summary>
internal sealed record S3ResumeState(string Bucket, string Key, string UploadId, long PartSize, IReadOnlyList<S3Part> Parts)
{
    public string ToJson() => JsonSerializer.Serialize(this, S3StateJson.Default.S3ResumeState);

    /// <summary>Null when <paramref name="json"/> is not a state this adapter wrote.</summary>
    public static S3ResumeState? TryParse(string json)
    {
        try
        {
            var state = JsonSerializer.Deserialize(json, S3StateJson.Default.S3ResumeState);
            return state is { Bucket.Length: > 0, UploadId.Length: > 0, PartSize: > 0 } && state.Key is not null && state.Parts is not null ? state : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Writes a part as a three-element array: the state is saved with every chunk, and may list thousands.</summary>
internal sealed class S3PartConverter : JsonConverter<S3Part>
{
    public override S3Part Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("a part is [number, etag, size]");
        reader.Read();
        var number = reader.GetInt32();
        reader.Read();
        var etag = reader.GetString() ?? throw new JsonException("a part needs its ETag");
        reader.Read();
        var size = reader.GetInt64();
        reader.Read();
        if (reader.TokenType != JsonTokenType.EndArray) throw new JsonException("a part is [number, etag, size]");
        return new S3Part(number, etag, size);
    }

    public override void Write(Utf8JsonWriter writer, S3Part value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.Number);
        writer.WriteStringValue(value.ETag);
        writer.WriteNumberValue(value.Size);
        writer.WriteEndArray();
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(S3ResumeState))]
internal sealed partial class S3StateJson : JsonSerializerContext;
