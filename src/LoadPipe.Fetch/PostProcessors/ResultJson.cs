using System.Text.Json;
using LoadPipe.Fetch.Processing;
using LoadPipe.Fetch.Serialization;

namespace LoadPipe.Fetch.PostProcessors;

/// <summary>One result as a JSON object: id, name, url, status, size, saved_as, error, stage and line where they apply,
/// then each processor's result under its name (for sha256, the hex digest). Through the compiled context
/// (<see cref="FetchJson"/>): no reflection, so it works in the native build.</summary>
public static class ResultJson
{
    public static void Write(Utf8JsonWriter w, FetchResult r) => JsonSerializer.Serialize(w, Of(r), FetchJson.Default.ResultLine);

    public static string Line(FetchResult r) => JsonSerializer.Serialize(Of(r), FetchJson.Default.ResultLine);

    private static ResultLine Of(FetchResult r)
    {
        var failed = r.Outcome == FetchOutcome.Failed;
        Dictionary<string, JsonElement>? results = null;
        if (r.Results.Count > 0)
        {
            results = new Dictionary<string, JsonElement>(r.Results.Count, StringComparer.Ordinal);
            foreach (var (name, value) in r.Results) results[name] = JsonSerializer.SerializeToElement(value, FetchJson.Default.JsonNode);
        }
        return new ResultLine
        {
            Id = r.Id, Name = r.Name, Url = r.Url, Status = r.Status, Size = r.Size >= 0 ? r.Size : null, SavedAs = r.SavedAs,
            Error = failed ? r.Error : null, Stage = failed ? r.FailedStage?.ToString().ToLowerInvariant() : null, Line = failed ? r.Line : null,
            Results = results,
        };
    }
}
