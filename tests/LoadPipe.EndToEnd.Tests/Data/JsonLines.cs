using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LoadPipe.EndToEnd.Tests.Data;

/// <summary>What a generated JSON-lines file holds, worked out while writing it.</summary>
/// <param name="Sha256">Of the whole file.</param>
/// <param name="ErrorLinesSha256">Of the lines <see cref="JsonLines.ErrorPattern"/> keeps, in order.</param>
public sealed record JsonLinesFile(string Path, long Length, string Sha256, long ErrorLinesLength, string ErrorLinesSha256, int ErrorLines);

/// <summary>
/// Log-like JSON lines from a seeded generator: compressible like real logs (zstd shrinks them several times),
/// but not trivially, since ids, timings and messages vary. The same seed always gives the same bytes.
/// </summary>
public static class JsonLines
{
    /// <summary>A grep pattern keeping the error and fatal lines (about 8% of them).</summary>
    public const string ErrorPattern = "\"level\":\"(error|fatal)\"";

    private static readonly string[] Words =
    [
        "request", "handled", "cache", "miss", "hit", "user", "session", "expired", "token", "refreshed", "order", "placed",
        "payment", "declined", "retry", "scheduled", "upstream", "timeout", "connection", "reset", "disk", "pressure",
        "queue", "drained", "worker", "started", "stopped", "config", "reloaded", "item", "not", "found", "invalid",
        "input", "rate", "limited", "index", "rebuilt", "snapshot", "written", "replica", "lagging", "leader", "elected",
    ];

    private static readonly string[] Routes = ["/api/items/", "/api/users/", "/api/orders/", "/login", "/static/app.js", "/health", "/api/search?q="];

    public static JsonLinesFile Write(string path, long minimumLength, int seed)
    {
        var random = new Random(seed);
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var errors = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0, errorLength = 0;
        var errorLines = 0;
        var start = new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        var line = new StringBuilder(256);
        var id = new byte[8];
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            for (var seq = 0L; length < minimumLength; seq++)
            {
                var roll = random.Next(100);
                var level = roll switch { < 60 => "info", < 82 => "debug", < 92 => "warn", < 99 => "error", _ => "fatal" };
                random.NextBytes(id);
                line.Clear().Append(CultureInfo.InvariantCulture,
                    $"{{\"seq\":{seq},\"ts\":\"{start.AddMilliseconds(seq * 37 + random.Next(37)):yyyy-MM-ddTHH:mm:ss.fffZ}\",\"level\":\"{level}\",");
                line.Append(CultureInfo.InvariantCulture,
                    $"\"host\":\"web-{random.Next(24):00}\",\"req\":\"{Convert.ToHexStringLower(id)}\",\"route\":\"{Routes[random.Next(Routes.Length)]}{random.Next(10000)}\",");
                line.Append(CultureInfo.InvariantCulture, $"\"status\":{(level is "error" or "fatal" ? 500 + random.Next(4) : 200 + random.Next(5))},\"ms\":{random.Next(2, 900)},\"msg\":\"");
                for (var w = random.Next(3, 12); w > 0; w--) line.Append(Words[random.Next(Words.Length)]).Append(w > 1 ? " " : "");
                line.Append("\"}\n");

                var bytes = Encoding.UTF8.GetBytes(line.ToString());
                file.Write(bytes);
                all.AppendData(bytes);
                length += bytes.Length;
                if (level is "error" or "fatal")
                {
                    errors.AppendData(bytes);
                    errorLength += bytes.Length;
                    errorLines++;
                }
            }
        }
        return new JsonLinesFile(path, length, Convert.ToHexStringLower(all.GetHashAndReset()),
            errorLength, Convert.ToHexStringLower(errors.GetHashAndReset()), errorLines);
    }
}
