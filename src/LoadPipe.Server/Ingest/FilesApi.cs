using LoadPipe.Server.Auth;
using LoadPipe.Server.Ingest.Files;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace LoadPipe.Server.Ingest;

/// <summary>
/// The ingest API (docs/ingest.md) at /api/files: upload, read, download and delete files kept on storage elements.
/// With JWT auth each action needs its scope in the token's `scope` claim: upload, read, delete, transfer.
/// </summary>
public static class FilesApi
{
    public const string UploadScope = "upload";
    public const string ReadScope = "read";
    public const string DeleteScope = "delete";
    public const string TransferScope = "transfer";

    private static string Policy(string scope) => "ingest:" + scope;

    /// <summary>One authorization policy per scope (with JWT auth only).</summary>
    public static void AddScopePolicies(IServiceCollection services)
    {
        var builder = services.AddAuthorizationBuilder();
        foreach (var scope in (string[])[UploadScope, ReadScope, DeleteScope, TransferScope])
            builder.AddPolicy(Policy(scope), policy => policy.RequireAuthenticatedUser().RequireAssertion(c => JwtAuthentication.HasScope(c.User, scope)));
    }

    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder endpoints, IngestService ingest, bool requireScopes)
    {
        var files = endpoints.MapGroup("/api/files");
        Protect(files.MapPost("/upload", c => c.Request.Headers.TryGetValue(UploadSessionHandler.Header, out var session)
            ? UploadSessionHandler.HandleAsync(c, ingest, session.ToString())
            : UploadHandler.HandleAsync(c, ingest)), UploadScope);
        Protect(files.MapGet("/upload/session/{id}", c => UploadSessionHandler.StatusAsync(c, ingest)), UploadScope);
        Protect(files.MapPost("/batch/upload", c => BatchUploadHandler.HandleAsync(c, ingest)), UploadScope);
        Protect(files.MapGet("/{id}", c => FileHandlers.GetAsync(c, ingest)), ReadScope);
        Protect(files.MapMethods("/{id}/content", ["GET", "HEAD"], c => FileHandlers.ContentAsync(c, ingest)), ReadScope);
        Protect(files.MapDelete("/{id}", c => FileHandlers.DeleteAsync(c, ingest)), DeleteScope);
        Protect(files.MapPost("/{id}/transfer", c => ingest.Transfers!.StartAsync(c)), TransferScope);
        Protect(files.MapGet("/transfer/{id}", c => ingest.Transfers!.StatusAsync(c)), TransferScope);
        Protect(endpoints.MapGet("/api/storage-elements", c => StorageElements.StorageElementsEndpoint.HandleAsync(c, ingest)), ReadScope);
        return endpoints;

        void Protect(IEndpointConventionBuilder endpoint, string scope)
        {
            if (requireScopes) endpoint.RequireAuthorization(Policy(scope));
        }
    }
}
