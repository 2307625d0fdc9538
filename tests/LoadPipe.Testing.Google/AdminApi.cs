using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoadPipe.Testing.Google.Faults;
using Microsoft.AspNetCore.Http;

namespace LoadPipe.Testing.Google;

/// <summary>
/// Test switches over HTTP, for the server run as a program (not part of any Google API; under <c>/__admin/</c>):
/// <list type="bullet">
/// <item><c>POST /__admin/faults</c> JSON <c>{"kind":"UploadChunk","count":1,"status":503,"reason":"backendError","retryAfterSeconds":2}</c></item>
/// <item><c>POST /__admin/drop?bytes=N&amp;count=1</c>: the next upload chunk's connection breaks after N body bytes</item>
/// <item><c>POST /__admin/expire-sessions</c>, <c>POST /__admin/expire-tokens</c>, <c>POST /__admin/clear-faults</c></item>
/// <item><c>POST /__admin/clients?id=&amp;secret=</c>; <c>POST /__admin/token?client=ID&amp;scope=S1 S2</c> -> token JSON</item>
/// <item><c>POST /__admin/youtube?quotaExceeded=true&amp;uploadLimitExceeded=false</c></item>
/// <item><c>GET /__admin/requests</c>, <c>GET /__admin/sessions</c>, <c>GET /__admin/videos</c>: JSON for assertions</item>
/// </list>
/// </summary>
internal sealed class AdminApi(GoogleProtocolServer server)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public async Task HandleAsync(HttpContext context, string[] segments)
    {
        var q = context.Request.Query;
        string action = segments.Length > 1 ? segments[1] : "";
        bool post = HttpMethods.IsPost(context.Request.Method);
        switch (action)
        {
            case "faults" when post:
                var spec = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject ?? [];
                var kind = Enum.Parse<RequestKind>((string?)spec["kind"] ?? nameof(RequestKind.UploadChunk), ignoreCase: true);
                double? retry = (double?)spec["retryAfterSeconds"];
                server.Faults.FailNext(kind, (int?)spec["count"] ?? 1, (int?)spec["status"] ?? 503, (string?)spec["reason"] ?? "backendError",
                    retry is { } r ? TimeSpan.FromSeconds(r) : null);
                break;
            case "drop" when post:
                server.Faults.DropConnectionAfter(long.Parse(q["bytes"].ToString(), CultureInfo.InvariantCulture),
                    q.ContainsKey("count") ? int.Parse(q["count"].ToString(), CultureInfo.InvariantCulture) : 1);
                break;
            case "expire-sessions" when post:
                server.ExpireUploadSessions();
                break;
            case "expire-tokens" when post:
                server.ExpireAllTokens();
                break;
            case "clear-faults" when post:
                server.Faults.Clear();
                break;
            case "clients" when post:
                server.AddClient(q["id"].ToString(), q["secret"].ToString());
                break;
            case "token" when post:
                var client = q.ContainsKey("client") ? q["client"].ToString() : GoogleProtocolServer.DefaultClientId;
                var token = server.OAuth.IssueToken(client, q["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
                await context.Response.WriteAsJsonAsync(new { access_token = token.AccessToken, refresh_token = token.RefreshToken, scope = string.Join(' ', token.Scopes) }, context.RequestAborted);
                return;
            case "youtube" when post:
                if (q.ContainsKey("quotaExceeded"))
                {
                    server.YouTube.QuotaExceeded = bool.Parse(q["quotaExceeded"].ToString());
                }
                if (q.ContainsKey("uploadLimitExceeded"))
                {
                    server.YouTube.UploadLimitExceeded = bool.Parse(q["uploadLimitExceeded"].ToString());
                }
                break;
            case "requests":
                await context.Response.WriteAsJsonAsync(server.Requests.All, Json, context.RequestAborted);
                return;
            case "sessions":
                await context.Response.WriteAsJsonAsync(server.UploadSessions, Json, context.RequestAborted);
                return;
            case "videos":
                await context.Response.WriteAsJsonAsync(server.YouTube.Videos, Json, context.RequestAborted);
                return;
            default:
                context.Response.StatusCode = 404;
                return;
        }
        context.Response.StatusCode = 204;
    }
}
