using System.Text.Json.Serialization;

namespace LoadPipe.Storage.GoogleDrive;

/// <summary>
/// The part of Drive v3's File resource the adapter reads (https://developers.google.com/drive/api/reference/rest/v3/files).
/// Drive sends int64 values such as size as JSON strings.
/// </summary>
internal sealed record DriveFile
{
    /// <summary>What every files.get / files.list asks for (the `fields` parameter).</summary>
    public const string Fields = "id,name,mimeType,size,md5Checksum,modifiedTime,createdTime,headRevisionId,parents,trashed";

    public string Id { get; init; } = "";

    public string Name { get; init; } = "";

    public string? MimeType { get; init; }

    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? Size { get; init; }

    public string? Md5Checksum { get; init; }

    public DateTimeOffset? ModifiedTime { get; init; }

    public DateTimeOffset? CreatedTime { get; init; }

    public string? HeadRevisionId { get; init; }

    public IReadOnlyList<string>? Parents { get; init; }

    public bool Trashed { get; init; }

    [JsonIgnore]
    public bool IsFolder => MimeType == GoogleDriveDefaults.FolderMimeType;

    /// <summary>A Google Docs, Sheets, Slides... document: no bytes to download, only exports.</summary>
    [JsonIgnore]
    public bool IsGoogleDocument => !IsFolder && MimeType?.StartsWith("application/vnd.google-apps.", StringComparison.Ordinal) == true;
}

/// <summary>One page of files.list.</summary>
internal sealed record DriveFileList
{
    public IReadOnlyList<DriveFile>? Files { get; init; }

    public string? NextPageToken { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DriveFile))]
[JsonSerializable(typeof(DriveFileList))]
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class DriveJson : JsonSerializerContext;
