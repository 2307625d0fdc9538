using System.Net;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>JWT auth on the ingest API: 401 for a missing, forged or expired token, 403 for a missing scope, each as
/// an error body; each action needs its own scope.</summary>
public sealed class AuthScopeTests
{
    [Fact]
    public async Task Upload_WithoutToken_Answers401()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(100))), 401, IngestErrors.Unauthorized);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Upload_ForgedToken_Answers401()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        var forged = Tokens.Hs256("upload", secret: "another-secret-of-more-than-32-characters!");
        await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(100)), forged), 401, IngestErrors.Unauthorized);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Upload_ExpiredToken_Answers401()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        var expired = Tokens.Hs256("upload", expires: DateTime.UtcNow.AddHours(-1));
        await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(100)), expired), 401, IngestErrors.Unauthorized);
    }

    [Fact]
    public async Task Upload_TokenWithoutUploadScope_Answers403()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        await AssertErrorAsync(await UploadAsync(server.Client, Form(Pdf(100)), Tokens.Hs256("read delete")), 403, IngestErrors.Forbidden);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task EachAction_NeedsItsOwnScope()
    {
        await using var server = await RunningServer.StartAsync(jwt: true);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(1000)), Tokens.Hs256("upload")));
        // The owner in the name is the token's subject.
        Assert.StartsWith("report_tester_", uploaded.StorageFilename, StringComparison.Ordinal);
        var path = $"/api/files/{uploaded.FileId}";

        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, path, Tokens.Hs256("upload")), 403, IngestErrors.Forbidden);
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, path + "/content", Tokens.Hs256("upload delete")), 403, IngestErrors.Forbidden);
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Delete, path, Tokens.Hs256("upload read")), 403, IngestErrors.Forbidden);
        Assert.Equal(2, server.StoredFiles().Count);

        using var read = await SendAsync(server.Client, HttpMethod.Get, path, Tokens.Hs256("read"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var delete = await SendAsync(server.Client, HttpMethod.Delete, path, Tokens.Hs256("delete"));
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Empty(server.StoredFiles());
    }
}
