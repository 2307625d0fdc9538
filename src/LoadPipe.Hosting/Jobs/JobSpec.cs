using System.Text.Json;
using System.Text.Json.Serialization;
using LoadPipe.Core.Errors;
using LoadPipe.Hosting.Configuration;

namespace LoadPipe.Hosting.Jobs;

/// <summary>What a job's copy runs with, kept as the job's options (JSON) so that any worker runs it the same way: the
/// settings its flags gave (the worker's own LP_* and config defaults apply under them) and the destination metadata.</summary>
public sealed record JobSpec
{
    public JobSettings Settings { get; init; } = new();

    /// <summary>Properties for the destination object (a video's metadata); null for none.</summary>
    public Dictionary<string, string>? Metadata { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, JobJson.Default.JobSpec);

    /// <summary>Usage error when the text is not a job's options (a row written by hand, or a newer lp's).</summary>
    public static JobSpec Parse(string json)
    {
        try
        {
            // The generated reader sets init-only properties in one object initializer: one the JSON lacks comes back null.
            var spec = JsonSerializer.Deserialize(json, JobJson.Default.JobSpec) ?? new JobSpec();
            return spec.Settings is null ? spec with { Settings = new() } : spec;
        }
        catch (JsonException e)
        {
            throw new LoadPipeException(ErrorKind.Usage, $"the job's options are not readable: {e.Message.Split('\n')[0]}");
        }
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(JobSpec))]
internal sealed partial class JobJson : JsonSerializerContext;
