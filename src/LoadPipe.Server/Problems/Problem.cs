using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Server.Problems;

/// <summary>An RFC 9457 problem body: every 4xx and 5xx the server makes itself carries one, never a stack trace.</summary>
public sealed record ProblemBody(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detail")] string? Detail);

/// <summary>What /health/* answers.</summary>
public sealed record HealthBody(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, string>? Checks = null);

[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(HealthBody))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class ServerJson : JsonSerializerContext;

public static class Problem
{
    public const string ContentType = "application/problem+json";

    /// <summary>Sets <paramref name="status"/> and writes its problem body (nothing for a HEAD, which has none).</summary>
    public static Task WriteAsync(HttpContext context, int status, string? detail = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (HttpMethods.IsHead(context.Request.Method) || response.HasStarted) return Task.CompletedTask;
        response.ContentType = ContentType;
        var body = new ProblemBody("about:blank", Title(status), status, detail);
        return JsonSerializer.SerializeAsync(response.Body, body, ServerJson.Default.ProblemBody, context.RequestAborted);
    }

    public static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        423 => "Locked",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        460 => "Checksum Mismatch",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => ReasonPhrases(status),
    };

    private static string ReasonPhrases(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
