using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoadPipe.Server.Ingest.Audit;

/// <summary>One file operation: who, what, when, and how it ended. Never a token or a secret.</summary>
public sealed record AuditEntry
{
    [JsonPropertyName("time")] public required DateTimeOffset Time { get; init; }
    [JsonPropertyName("actor")] public required string Actor { get; init; }
    [JsonPropertyName("client_ip")] public string? ClientIp { get; init; }
    [JsonPropertyName("action")] public required string Action { get; init; }
    [JsonPropertyName("file_id")] public string? FileId { get; init; }
    [JsonPropertyName("storage_element_id")] public string? StorageElementId { get; init; }
    [JsonPropertyName("result")] public required string Result { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}

/// <summary>
/// The audit log of file operations (upload, download, delete): one JSON line each, appended to the file
/// `ingest.audit_log` names, in the order they end; nothing when no file is configured. A line that cannot be written
/// is logged, and the operation stands.
/// </summary>
public sealed class AuditLog(string? path, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private FileStream? _file;

    public async Task WriteAsync(HttpContext context, string action, string result, string? fileId = null, string? elementId = null, string? error = null)
    {
        if (path is null) return;
        var entry = new AuditEntry
        {
            Time = time.GetUtcNow(),
            Actor = Actor(context.User),
            ClientIp = context.Connection.RemoteIpAddress?.ToString(),
            Action = action,
            FileId = fileId,
            StorageElementId = elementId,
            Result = result,
            Error = error,
        };
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, IngestJson.Default.AuditEntry) + "\n");
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _file ??= new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
            await _file.WriteAsync(line, CancellationToken.None).ConfigureAwait(false);
            await _file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.AuditFailed(logger, e.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The token's subject; "anonymous" without auth.</summary>
    public static string Actor(ClaimsPrincipal user) => user.FindFirst("sub")?.Value is { Length: > 0 } subject ? subject : "anonymous";

    public void Dispose()
    {
        _file?.Dispose();
        _gate.Dispose();
    }
}
