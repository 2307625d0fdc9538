using System.Text.Json;

namespace LoadPipe.Storage.Tus.Tests.Support;

/// <summary>
/// The tus reference server: tests/tus/reference-server.js (@tus/server 2.4.5 with @tus/file-store 2.1.1), started
/// by scripts/test.sh, which exports LP_TEST_TUS_ENDPOINT (its creation URL, http://127.0.0.1:PORT/files/) and
/// LP_TEST_TUS_DIR (the file store's folder: each upload is DIR/ID, its bytes, beside DIR/ID.json, its length, offset
/// and metadata). Tests that need it are skipped, saying why, when the variables are unset.
/// </summary>
public static class TusReferenceServer
{
    public const string EndpointVariable = "LP_TEST_TUS_ENDPOINT";
    public const string DirectoryVariable = "LP_TEST_TUS_DIR";

    /// <summary>Why the server cannot be used in this run, or null when it can.</summary>
    public static string? Unavailable =>
        Environment.GetEnvironmentVariable(EndpointVariable) is not { Length: > 0 } || Environment.GetEnvironmentVariable(DirectoryVariable) is not { Length: > 0 }
            ? $"{EndpointVariable} and {DirectoryVariable} are not set: run scripts/test.sh, or start tests/tus/reference-server.js (see its header) and export them"
            : null;

    /// <summary>The creation URL; a place nothing listens on when the server is unavailable (for cases that send nothing).</summary>
    public static Uri Endpoint => new(Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } e ? e.TrimEnd('/') + "/" : "http://127.0.0.1:9/files/");

    public static string Directory => Environment.GetEnvironmentVariable(DirectoryVariable) ?? "";

    public static TusStorage Storage() => new TusStorageFactory().Create(new TusStorageOptions { Name = "reference", Endpoint = Endpoint });

    /// <summary>The ids of the uploads whose metadata names <paramref name="relativePath"/> (what the adapter sends for
    /// a file in a folder).</summary>
    public static IReadOnlyList<string> UploadsOf(string relativePath) =>
        System.IO.Directory.EnumerateFiles(Directory, "*.json")
            .Select(f => (Id: Path.GetFileNameWithoutExtension(f), Info: Read(f)))
            .Where(u => u.Info is { } info && info.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object
                && m.TryGetProperty("relativePath", out var p) && p.GetString() == relativePath)
            .Select(u => u.Id)
            .ToList();

    /// <summary>The bytes the server holds of upload <paramref name="id"/>.</summary>
    public static byte[] Content(string id) => File.ReadAllBytes(Path.Combine(Directory, id));

    private static JsonElement? Read(string file)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null; // being written or deleted
        }
    }
}
