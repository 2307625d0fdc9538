using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>
/// Bad requests over the whole ingest API, one table: each answers its 4xx with `{"error": CODE, "message": ...}` (no
/// stack trace), and leaves every storage element's folder and the file records exactly as they were. One server for
/// the table (JWT auth, a 1 MiB file limit, a 2 MiB batch limit), holding one file on a read-only element.
/// </summary>
public sealed class BadRequestTests(BadRequestTests.Server server) : IClassFixture<BadRequestTests.Server>
{
    private const string AllScopes = "upload read delete transfer";
    private const long FileLimit = 1 << 20;

    /// <summary>What a case sent got back: the status, the media type and the body.</summary>
    public sealed record Answer(int Status, string? MediaType, string Body);

    private sealed record Case(int Status, string Code, Func<Server, Task<Answer>> Send);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // Authentication and scopes.
        ["no token"] = new(401, IngestErrors.Unauthorized, s => s.UploadAsync(Form(Pdf(1000)), token: null)),
        ["forged token"] = new(401, IngestErrors.Unauthorized, s => s.UploadAsync(Form(Pdf(1000)), Tokens.Hs256(AllScopes, secret: "another-secret-of-more-than-32-characters!"))),
        ["expired token"] = new(401, IngestErrors.Unauthorized, s => s.UploadAsync(Form(Pdf(1000)), Tokens.Hs256(AllScopes, expires: DateTime.UtcNow.AddHours(-1)))),
        ["token not valid yet"] = new(401, IngestErrors.Unauthorized, s => s.UploadAsync(Form(Pdf(1000)), Tokens.Hs256(AllScopes, expires: DateTime.UtcNow.AddHours(3)))),
        ["token that is not a JWT"] = new(401, IngestErrors.Unauthorized, s => s.UploadAsync(Form(Pdf(1000)), "not.a.jwt")),
        ["basic credentials"] = new(401, IngestErrors.Unauthorized, s => s.SendAsync(HttpMethod.Post, "/api/files/upload", Form(Pdf(1000)), auth: new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz"))),
        ["upload without the upload scope"] = new(403, IngestErrors.Forbidden, s => s.UploadAsync(Form(Pdf(1000)), Tokens.Hs256("read delete transfer"))),
        ["delete without the delete scope"] = new(403, IngestErrors.Forbidden, s => s.SendAsync(HttpMethod.Delete, $"/api/files/{s.Kept.FileId}", token: Tokens.Hs256("upload read"))),
        ["read without the read scope"] = new(403, IngestErrors.Forbidden, s => s.SendAsync(HttpMethod.Get, $"/api/files/{s.Kept.FileId}/content", token: Tokens.Hs256("upload delete"))),
        ["elements without the read scope"] = new(403, IngestErrors.Forbidden, s => s.SendAsync(HttpMethod.Get, "/api/storage-elements", token: Tokens.Hs256("upload"))),

        // The form.
        ["not multipart"] = new(415, IngestErrors.InvalidRequest, s => s.UploadAsync(new ByteArrayContent(Pdf(1000)) { Headers = { ContentType = new("application/pdf") } })),
        ["multipart without a boundary"] = new(400, IngestErrors.InvalidRequest, s => s.UploadAsync(new ByteArrayContent(Pdf(1000)) { Headers = { ContentType = new("multipart/form-data") } })),
        ["empty body"] = new(400, IngestErrors.InvalidRequest, s => s.UploadAsync(new ByteArrayContent([]) { Headers = { ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b") } })),
        ["no file part"] = new(400, IngestErrors.MissingFile, s => s.UploadAsync(new MultipartFormDataContent { { new StringContent("{}"), "metadata" } })),
        ["file in another field"] = new(400, IngestErrors.InvalidRequest, s => s.UploadAsync(Renamed(Form(Pdf(1000)), "document"))),
        ["two files in one upload"] = new(400, IngestErrors.InvalidRequest, s => s.UploadAsync(Twice(Pdf(1000)))),
        ["metadata that is not JSON"] = new(400, IngestErrors.InvalidMetadata, s => s.UploadAsync(Form(Pdf(1000), fields: ("metadata", "owner=ivanov")))),
        ["metadata that is a JSON array"] = new(400, IngestErrors.InvalidMetadata, s => s.UploadAsync(Form(Pdf(1000), fields: ("metadata", "[1,2]")))),
        ["metadata over 64 KiB"] = new(400, IngestErrors.InvalidMetadata, s => s.UploadAsync(Form(Pdf(1000), fields: ("metadata", $"{{\"x\":\"{new string('a', 70_000)}\"}}")))),

        // Size and type.
        ["Content-Length over the limit"] = new(413, IngestErrors.FileTooLarge, s => s.RawAsync(
            $"POST /api/files/upload HTTP/1.1\nHost: x\nAuthorization: Bearer {s.Token}\nContent-Type: multipart/form-data; boundary=b\nContent-Length: {3 * FileLimit}", [])),
        ["chunked file over the limit"] = new(413, IngestErrors.FileTooLarge, s => s.UploadAsync(Form(Pdf(3 << 20), chunked: true))),
        ["file over the limit in a fitting Content-Length"] = new(413, IngestErrors.FileTooLarge, s => s.UploadAsync(Form(Pdf((int)FileLimit + 100_000)))),
        ["type outside the list"] = new(415, IngestErrors.MimeTypeNotAllowed, s => s.UploadAsync(Form(Elf(5000), "innocent.pdf"))),
        ["empty file"] = new(415, IngestErrors.MimeTypeNotAllowed, s => s.UploadAsync(Form([], "empty.pdf"))),

        // Hashes the client gave.
        ["wrong MD5"] = new(400, IngestErrors.ChecksumMismatch, s => s.UploadAsync(Form(Pdf(20_000), fields: ("md5_hash", Hex(MD5.HashData(Pdf(10))))))),
        ["wrong SHA-256"] = new(400, IngestErrors.ChecksumMismatch, s => s.UploadAsync(Form(Pdf(20_000), fields: ("sha256_hash", Hex(SHA256.HashData(Pdf(10))))))),
        ["wrong SHA-256 header"] = new(400, IngestErrors.ChecksumMismatch, s => s.UploadAsync(Form(Pdf(20_000)), header: ("X-Content-SHA256", Hex(SHA256.HashData(Pdf(10)))))),
        ["MD5 that is not hex"] = new(400, IngestErrors.InvalidRequest, s => s.UploadAsync(Form(Pdf(20_000), fields: ("md5_hash", new string('z', 32))))),
        ["SHA-256 of the wrong length"] = new(400, IngestErrors.InvalidRequest, s => s.UploadAsync(Form(Pdf(20_000), fields: ("sha256_hash", "abc123")))),

        // File names.
        ["traversal name"] = new(400, IngestErrors.InvalidFilename, s => s.UploadAsync(Form(Pdf(1000), "../../etc/passwd"))),
        ["reserved name"] = new(400, IngestErrors.InvalidFilename, s => s.UploadAsync(Form(Pdf(1000), "NUL.pdf"))),
        ["control characters in the name"] = new(400, IngestErrors.InvalidFilename, s => s.UploadAsync(Form(Pdf(1000), "esc\u001b[31m.pdf"))),
        ["empty name"] = new(400, IngestErrors.InvalidFilename, s => s.UploadAsync(Form(Pdf(1000), ""))),

        // Batches.
        ["101 files in a batch"] = new(400, IngestErrors.TooManyFiles, s => s.BatchAsync(Enumerable.Range(0, 101).Select(_ => Pdf(300)))),
        ["batch over its size"] = new(413, IngestErrors.BatchTooLarge, s => s.BatchAsync(Enumerable.Range(0, 3).Select(_ => Pdf(900_000)))),
        ["batch without files"] = new(400, IngestErrors.MissingFile, s => s.SendAsync(HttpMethod.Post, "/api/files/batch/upload", new MultipartFormDataContent { { new StringContent("{}"), "metadata" } })),

        // Files that are there, or not.
        ["delete from a read-only element"] = new(400, IngestErrors.FileInReadonlyStorage, s => s.SendAsync(HttpMethod.Delete, $"/api/files/{s.Kept.FileId}")),
        ["unknown file id"] = new(404, IngestErrors.FileNotFound, s => s.SendAsync(HttpMethod.Get, $"/api/files/{Guid.NewGuid()}")),
        ["content of an unknown file id"] = new(404, IngestErrors.FileNotFound, s => s.SendAsync(HttpMethod.Get, $"/api/files/{Guid.NewGuid()}/content")),
        ["malformed file id"] = new(404, IngestErrors.FileNotFound, s => s.SendAsync(HttpMethod.Delete, "/api/files/not-an-id")),
        ["range past the end"] = new(416, IngestErrors.RangeNotSatisfiable, s => s.SendAsync(HttpMethod.Get, $"/api/files/{s.Kept.FileId}/content", range: "bytes=10000000-")),
        ["wrong method"] = new(405, IngestErrors.MethodNotAllowed, s => s.SendAsync(HttpMethod.Put, "/api/files/upload", Form(Pdf(1000)))),
        ["unknown path"] = new(404, IngestErrors.NotFound, s => s.SendAsync(HttpMethod.Get, "/api/files/a/b/c")),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Fact]
    public void Table_HoldsAtLeastThirtyBadRequests() => Assert.True(Cases.Count >= 30, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(Names))]
    public async Task BadRequest_AnswersItsErrorAndStoresNothing(string name)
    {
        var expected = Cases[name];
        var before = server.Snapshot();
        var recordsBefore = (await RecordsAsync(server.Running)).Select(r => r.FileId).Order().ToList();

        var answer = await expected.Send(server);

        Assert.True(answer.Status == expected.Status, $"{name}: expected {expected.Status} {expected.Code}, got {answer.Status}: {answer.Body}");
        Assert.Equal("application/json", answer.MediaType);
        var error = JsonSerializer.Deserialize(answer.Body, IngestJson.Default.ErrorBody)!;
        Assert.Equal(expected.Code, error.Error);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.DoesNotContain("   at ", answer.Body, StringComparison.Ordinal);
        Assert.Equal(before, server.Snapshot());
        Assert.Equal(recordsBefore, (await RecordsAsync(server.Running)).Select(r => r.FileId).Order().ToList());
    }

    private static byte[] Elf(int size)
    {
        var elf = RandomNumberGenerator.GetBytes(size);
        new byte[] { 0x7F, 0x45, 0x4C, 0x46 }.CopyTo(elf, 0);
        return elf;
    }

    private static MultipartFormDataContent Renamed(MultipartFormDataContent form, string field)
    {
        var part = form.Single();
        part.Headers.Remove("Content-Disposition");
        part.Headers.Add("Content-Disposition", $"form-data; name=\"{field}\"; filename=\"report.pdf\"");
        return form;
    }

    private static MultipartFormDataContent Twice(byte[] file)
    {
        var form = Form(file, "a.pdf");
        foreach (var part in Form(file, "b.pdf")) form.Add(part);
        return form;
    }

    /// <summary>The server of the table: elements `se1` (edit, empty) and `arc` (ro, holding <see cref="Kept"/>).</summary>
    public sealed class Server : IAsyncLifetime
    {
        private string _root = "";

        public RunningServer Running { get; private set; } = null!;
        public UploadedBody Kept { get; private set; } = null!;
        public string Token { get; } = Tokens.Hs256(AllScopes);

        public async Task InitializeAsync()
        {
            Running = await RunningServer.StartAsync(jwt: true, configure: s =>
            {
                _root = Path.GetDirectoryName(s.Destination.TrimEnd('/'))!;
                return s with
                {
                    Ingest = IngestSettings.From(new IngestConfig { StorageElements = [Element("arc", "rw")] }, s.Destination)
                        with { MaxFileSize = FileLimit, MaxBatchSize = 2 * FileLimit },
                };
            });
            Kept = await UploadedAsync(await IngestCalls.UploadAsync(Running.Client, Form(Pdf(10_000)), Token));
            Running.Server.Ingest.Elements.Replace([Element("se1", "edit"), Element("arc", "ro")]);
        }

        private StorageElementConfig Element(string id, string mode) => new() { Id = id, Location = Path.Combine(_root, id) + "/", Mode = mode };

        /// <summary>Every file under the elements' folders and the upload destination, with its size.</summary>
        public IReadOnlyList<string> Snapshot() =>
            [.. ((string[])["se1", "arc", "uploads"]).Select(d => Path.Combine(_root, d)).Where(Directory.Exists)
                .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
                .Select(f => $"{Path.GetRelativePath(_root, f)} {new FileInfo(f).Length}").Order()];

        public Task<Answer> UploadAsync(HttpContent content, string? token = "", (string Name, string Value)? header = null) =>
            SendAsync(HttpMethod.Post, "/api/files/upload", content, token, header: header);

        public Task<Answer> BatchAsync(IEnumerable<byte[]> files)
        {
            var form = new MultipartFormDataContent();
            var i = 0;
            foreach (var file in files)
            {
                var part = new ByteArrayContent(file);
                part.Headers.Add("Content-Disposition", $"form-data; name=\"files\"; filename=\"f{i++}.pdf\"");
                form.Add(part);
            }
            return SendAsync(HttpMethod.Post, "/api/files/batch/upload", form);
        }

        /// <summary>Sends with <see cref="Token"/> unless another <paramref name="token"/> (null: none) or <paramref name="auth"/> is given.</summary>
        public async Task<Answer> SendAsync(HttpMethod method, string path, HttpContent? content = null, string? token = "",
            AuthenticationHeaderValue? auth = null, string? range = null, (string Name, string Value)? header = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Authorization = auth ?? (token is null ? null : new AuthenticationHeaderValue("Bearer", token.Length == 0 ? Token : token));
            if (range is not null) request.Headers.Range = RangeHeaderValue.Parse(range);
            if (header is { } h) request.Headers.Add(h.Name, h.Value);
            using var response = await Running.Client.SendAsync(request);
            return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
        }

        public async Task<Answer> RawAsync(string head, byte[] body)
        {
            var (status, text) = await RawHttp.SendAsync(Running.Client.BaseAddress!, head, body);
            // RawHttp hands back the body as it came (chunked, perhaps): the JSON object in it.
            var (start, end) = (text.IndexOf('{', StringComparison.Ordinal), text.LastIndexOf('}'));
            return start < 0 || end < start ? new Answer(status, null, text) : new Answer(status, "application/json", text[start..(end + 1)]);
        }

        public async Task DisposeAsync() => await Running.DisposeAsync();
    }
}
