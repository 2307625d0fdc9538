using System.Globalization;
using System.Text.Json;

namespace LoadPipe.EndToEnd.Tests.Tus;

/// <summary>
/// The tus reference server the end-to-end tests copy to: tests/tus/reference-server.js (@tus/server 2.4.5 with
/// @tus/file-store 2.1.1), started by scripts/test.sh, which exports LP_TEST_TUS_ENDPOINT (its creation URL),
/// LP_TEST_TUS_DIR (the file store's folder: DIR/ID holds an upload's bytes so far, DIR/ID.json its metadata) and
/// LP_TEST_TUS_LOG (one line per request answered: METHOD ID STATUS REQUEST_OFFSET RESPONSE_OFFSET). The tests look
/// behind lp's back there.
/// </summary>
public static class TusReference
{
    /// <summary>Why the server cannot be used in this run, or null when it can.</summary>
    public static string? Unavailable =>
        Variable("LP_TEST_TUS_ENDPOINT") is null || Variable("LP_TEST_TUS_DIR") is null || Variable("LP_TEST_TUS_LOG") is null
            ? "LP_TEST_TUS_ENDPOINT, LP_TEST_TUS_DIR and LP_TEST_TUS_LOG are not set: run scripts/test.sh, or start tests/tus/reference-server.js (see its header) and export them"
            : null;

    /// <summary>"tus+http://127.0.0.1:PORT/files/": where lp copies to.</summary>
    public static string Location => "tus+" + Variable("LP_TEST_TUS_ENDPOINT")!.TrimEnd('/') + "/";

    /// <summary>The id of the one upload whose metadata names <paramref name="filename"/>, or null while there is none.</summary>
    public static string? UploadOf(string filename)
    {
        var ids = Directory.EnumerateFiles(Variable("LP_TEST_TUS_DIR")!, "*.json")
            .Where(f => FilenameIn(f) == filename)
            .Select(Path.GetFileNameWithoutExtension)
            .ToList();
        Assert.True(ids.Count <= 1, $"{ids.Count} uploads are named {filename}");
        return ids.SingleOrDefault();
    }

    /// <summary>The path of upload <paramref name="id"/>'s bytes, as many as the server holds.</summary>
    public static string ContentOf(string id) => Path.Combine(Variable("LP_TEST_TUS_DIR")!, id);

    /// <summary>The server's log lines so far.</summary>
    public static IReadOnlyList<string> LogLines()
    {
        using var stream = new FileStream(Variable("LP_TEST_TUS_LOG")!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The PATCH requests the server answered 204 for upload <paramref name="id"/> in <paramref name="lines"/>,
    /// each as the offset it was sent at and the offset the server then held.</summary>
    public static IReadOnlyList<(long From, long To)> PatchesOf(string id, IEnumerable<string> lines) =>
        lines.Select(l => l.Split(' '))
            .Where(f => f.Length == 5 && f[0] == "PATCH" && f[1] == id && f[2] == "204")
            .Select(f => (long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture)))
            .ToList();

    private static string? FilenameIn(string file)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            return document.RootElement.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("filename", out var name) ? name.GetString() : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null; // being written or deleted
        }
    }

    private static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
