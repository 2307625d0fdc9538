using System.Text.Json;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.PostProcessors;

/// <summary>One result as a JSON object: id, name, url, status, then each processor's result under its name (for
/// sha256, the hex digest), or error and the stage it failed in. Written with <see cref="Utf8JsonWriter"/>: no
/// reflection, so it works in the native build.</summary>
public static class ResultJson
{
    public static void Write(Utf8JsonWriter w, FetchResult r)
    {
        w.WriteStartObject();
        if (r.Id is null) w.WriteNull("id");
        else w.WriteString("id", r.Id);
        w.WriteString("name", r.Name);
        w.WriteString("url", r.Url);
        w.WriteString("status", r.Status);
        if (r.Size >= 0) w.WriteNumber("size", r.Size);
        foreach (var (name, value) in r.Results)
        {
            w.WritePropertyName(name);
            if (value is null) w.WriteNullValue();
            else value.WriteTo(w);
        }
        if (r.SavedAs is { } saved) w.WriteString("saved_as", saved);
        if (r.Outcome == FetchOutcome.Failed)
        {
            w.WriteString("error", r.Error);
            w.WriteString("stage", r.FailedStage?.ToString().ToLowerInvariant());
            w.WriteNumber("line", r.Line);
        }
        w.WriteEndObject();
    }

    public static string Line(FetchResult r)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) Write(w, r);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
