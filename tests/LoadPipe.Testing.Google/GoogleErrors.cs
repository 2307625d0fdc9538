using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google;

/// <summary>
/// Error bodies in the shapes Google's APIs answer: the JSON API error
/// (<c>{"error":{"code","message","errors":[{"domain","reason","message"}],"status"}}</c>) for Drive and YouTube,
/// and the OAuth 2.0 error (<c>{"error","error_description"}</c>, RFC 6749 section 5.2) for the token endpoint.
/// </summary>
public static class GoogleErrors
{
    public static JsonObject ApiError(int code, string reason, string message, string domain = "global")
    {
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = code,
                ["message"] = message,
                ["errors"] = new JsonArray(new JsonObject
                {
                    ["message"] = message,
                    ["domain"] = domain,
                    ["reason"] = reason,
                }),
                ["status"] = StatusName(code),
            },
        };
    }

    /// <summary>The usual domain of a reason, so callers can name only the reason.</summary>
    public static string DomainOf(string reason) => reason switch
    {
        "rateLimitExceeded" or "userRateLimitExceeded" or "dailyLimitExceeded" => "usageLimits",
        "quotaExceeded" => "youtube.quota",
        "uploadLimitExceeded" => "youtube.video",
        _ => "global",
    };

    public static async Task WriteApiErrorAsync(HttpContext context, int code, string reason, string message, TimeSpan? retryAfter = null)
    {
        context.Response.StatusCode = code;
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (code == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"";
        }
        await WriteJsonAsync(context, ApiError(code, reason, message, DomainOf(reason)));
    }

    public static Task WriteOAuthErrorAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.StatusCode = status;
        return WriteJsonAsync(context, new JsonObject { ["error"] = error, ["error_description"] = description });
    }

    public static async Task WriteJsonAsync(HttpContext context, JsonNode body, int? status = null)
    {
        if (status is { } s)
        {
            context.Response.StatusCode = s;
        }
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private static string StatusName(int code) => code switch
    {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        416 => "OUT_OF_RANGE",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    };
}
