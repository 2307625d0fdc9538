using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LoadPipe.Server.OpenApi;

/// <summary>
/// The API's OpenAPI 3.1 document at /openapi/v1.json, and a reference page at /openapi made from it on the server (no
/// script or style from elsewhere: the page works offline). The document is written by hand (wwwroot/openapi/v1.json,
/// embedded): the endpoints are RequestDelegates that read and write their bodies themselves (a streamed multipart
/// form, source-generated JSON), so a generator would see their paths and nothing of their shapes. A test checks that
/// every mapped /api route is in it. Both are behind the server's auth, as every route but health is.
/// </summary>
public static class OpenApiEndpoints
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string PagePath = "/openapi";
    private const string Resource = "openapi/v1.json";

    public static IEndpointRouteBuilder MapOpenApiDocument(this IEndpointRouteBuilder endpoints, Action<IEndpointConventionBuilder> secure)
    {
        secure(endpoints.MapGet(DocumentPath, async context =>
        {
            await using var stream = OpenDocument();
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }));
        secure(endpoints.MapGet(PagePath, async context =>
        {
            await using var stream = OpenDocument();
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            await context.Response.WriteAsync(Page(document.RootElement), context.RequestAborted).ConfigureAwait(false);
        }));
        return endpoints;
    }

    /// <summary>The document as embedded in the assembly.</summary>
    public static Stream OpenDocument() => typeof(OpenApiEndpoints).Assembly.GetManifestResourceStream(Resource)
        ?? throw new InvalidOperationException($"the OpenAPI document {Resource} is missing from the build");

    private static readonly string[] Methods = ["get", "head", "post", "put", "patch", "delete"];

    /// <summary>The reference page: each operation a foldable section with its parameters, body and answers; a filter box.</summary>
    internal static string Page(JsonElement document)
    {
        var html = new StringBuilder();
        var info = document.GetProperty("info");
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(Text(info, "title"))).Append(" reference</title>")
            .Append("<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}")
            .Append("details{border:1px solid #ccc;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}summary{cursor:pointer}")
            .Append(".m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}code{background:#f3f3f3;padding:0 .2rem}")
            .Append("table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}input{width:100%;padding:.4rem;font-size:1rem}</style></head><body>");
        html.Append("<h1>").Append(E(Text(info, "title"))).Append("</h1><p>").Append(E(Text(info, "description"))).Append("</p>")
            .Append("<p>The document: <a href=\"").Append(DocumentPath).Append("\">").Append(DocumentPath).Append("</a></p>")
            .Append("<input id=\"filter\" type=\"search\" placeholder=\"Filter by path or text\" aria-label=\"Filter\">");
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in Methods)
            {
                if (!path.Value.TryGetProperty(method, out var operation)) continue;
                html.Append("<details class=\"op\"><summary><span class=\"m\">").Append(method).Append("</span> <code>").Append(E(path.Name)).Append("</code> ")
                    .Append(E(Text(operation, "summary"))).Append("</summary>");
                if (Text(operation, "description") is { Length: > 0 } description) html.Append("<p>").Append(E(description)).Append("</p>");
                if (operation.TryGetProperty("parameters", out var parameters))
                {
                    html.Append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>about</th></tr>");
                    foreach (var p in parameters.EnumerateArray())
                    {
                        var parameter = Resolve(document, p);
                        html.Append("<tr><td><code>").Append(E(Text(parameter, "name"))).Append("</code></td><td>").Append(E(Text(parameter, "in")))
                            .Append("</td><td>").Append(parameter.TryGetProperty("required", out var r) && r.GetBoolean() ? "yes" : "no")
                            .Append("</td><td>").Append(E(Text(parameter, "description"))).Append("</td></tr>");
                    }
                    html.Append("</table>");
                }
                if (operation.TryGetProperty("requestBody", out var body) && body.TryGetProperty("content", out var content))
                {
                    html.Append("<p>Body: ");
                    foreach (var type in content.EnumerateObject())
                        html.Append("<code>").Append(E(type.Name)).Append("</code> ").Append(E(SchemaName(type.Value))).Append(' ');
                    html.Append("</p>");
                }
                html.Append("<ul>");
                foreach (var answer in operation.GetProperty("responses").EnumerateObject())
                {
                    var response = Resolve(document, answer.Value);
                    html.Append("<li><b>").Append(E(answer.Name)).Append("</b> ").Append(E(Text(response, "description")));
                    if (response.TryGetProperty("content", out var answerContent))
                        foreach (var type in answerContent.EnumerateObject())
                            html.Append(" <code>").Append(E(type.Name)).Append("</code> ").Append(E(SchemaName(type.Value)));
                    html.Append("</li>");
                }
                html.Append("</ul></details>");
            }
        }
        html.Append("<script>document.getElementById('filter').addEventListener('input',e=>{const q=e.target.value.toLowerCase();")
            .Append("for(const d of document.querySelectorAll('details.op'))d.hidden=q!==''&&!d.textContent.toLowerCase().includes(q);});</script></body></html>");
        return html.ToString();
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    /// <summary>A local $ref ("#/components/...") followed, else the element itself.</summary>
    private static JsonElement Resolve(JsonElement document, JsonElement element)
    {
        if (!element.TryGetProperty("$ref", out var reference) || reference.GetString() is not { } target || !target.StartsWith("#/", StringComparison.Ordinal)) return element;
        var at = document;
        foreach (var segment in target[2..].Split('/'))
            if (!at.TryGetProperty(segment, out at)) return element;
        return at;
    }

    private static string SchemaName(JsonElement media) =>
        media.TryGetProperty("schema", out var schema) && schema.TryGetProperty("$ref", out var reference) ? reference.GetString()!.Split('/')[^1] : "";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
