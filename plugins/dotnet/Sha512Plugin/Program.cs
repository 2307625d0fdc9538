// An lp fetch plugin (docs/plugins.md): answers each request with the SHA-512 of the downloaded file.
// Build: dotnet build plugins/dotnet/Sha512Plugin -c Release
// Use:   lp fetch --files LIST --processor 'plugin:dotnet plugins/dotnet/Sha512Plugin/bin/Release/net10.0/Sha512Plugin.dll'
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

var stdout = Console.Out;
while (Console.In.ReadLine() is { } line)
{
    if (line.Trim().Length == 0) continue;
    JsonObject answer;
    try
    {
        var request = JsonNode.Parse(line)!.AsObject();
        var path = request["path"]!.GetValue<string>();
        using var file = File.OpenRead(path);
        var digest = Convert.ToHexStringLower(await SHA512.HashDataAsync(file));
        answer = new JsonObject { ["result"] = new JsonObject { ["sha512"] = digest, ["size"] = new FileInfo(path).Length } };
    }
    catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or NullReferenceException or UnauthorizedAccessException)
    {
        // One file's failure is that file's: the plugin goes on with the next request.
        answer = new JsonObject { ["error"] = $"{e.GetType().Name}: {e.Message}" };
    }
    stdout.WriteLine(answer.ToJsonString());
    stdout.Flush();
}
