using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>`POST /api/files/upload`, `GET /api/files/{id}` and its content, over real HTTP: the seed's shapes, and
/// every refusal a clear error with nothing left behind.</summary>
public sealed class UploadApiTests
{
    private static Func<ServerSettings, ServerSettings> Ingest(Func<IngestSettings, IngestSettings> change) => s =>
        s with { Ingest = change(IngestSettings.From(new IngestConfig(), s.Destination)) };

    [Fact]
    public async Task Upload_Pdf_Answers201WithTheSeedsFieldsAndStoresTheBytes()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(300_000);
        using var response = await UploadAsync(server.Client, Form(bytes, "Quarterly report.pdf", fields: ("metadata", """{"owner":"ivanov","project":"q3"}""")));
        var uploaded = await UploadedAsync(response);

        Assert.True(Guid.TryParseExact(uploaded.FileId, "D", out _));
        Assert.Equal("default", uploaded.StorageElementId);
        Assert.Equal(bytes.Length, uploaded.SizeBytes);
        Assert.Equal(Hex(MD5.HashData(bytes)), uploaded.Md5Hash);
        Assert.Equal(Hex(SHA256.HashData(bytes)), uploaded.Sha256Hash);
        // name_owner_UTCtime_uuid.ext; the owner is "anonymous" here: no token, and the metadata came after the file.
        Assert.Matches(new Regex($@"^Quarterly_report_anonymous_\d{{8}}T\d{{6}}_{uploaded.FileId}\.pdf$"), uploaded.StorageFilename);
        Assert.Equal([uploaded.StorageFilename, uploaded.StorageFilename + ".attr.json"], server.StoredFiles());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded.StorageFilename)));

        using var get = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var record = JsonSerializer.Deserialize(await get.Content.ReadAsStringAsync(), IngestJson.Default.FileRecord)!;
        Assert.Equal("Quarterly report.pdf", record.OriginalFilename);
        Assert.Equal("application/pdf", record.MimeType);
        Assert.Equal("q3", record.Metadata!.Value.GetProperty("project").GetString());

        using var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal(bytes, await content.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Upload_SixteenAtOnce_EachAnswered201WithItsOwnRecordObjectAndSidecar()
    {
        // The uploads complete together: their manifest writes share synced commits, and their renames shared folder
        // fsyncs (group commit); each must still get its own answer, record, object and sidecar.
        await using var server = await RunningServer.StartAsync();
        var files = Enumerable.Range(0, 16).Select(i => Pdf(50_000 + i)).ToArray();
        var uploaded = await Task.WhenAll(files.Select(async (bytes, i) => await UploadedAsync(await UploadAsync(server.Client, Form(bytes, $"f{i}.pdf")))));

        var records = await RecordsAsync(server);
        Assert.Equal(uploaded.Select(u => u.FileId).Order(), records.Select(r => r.FileId).Order());
        Assert.Equal(uploaded.SelectMany(u => new[] { u.StorageFilename, u.StorageFilename + ".attr.json" }).Order(StringComparer.Ordinal),
            server.StoredFiles().Order(StringComparer.Ordinal));
        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal(Hex(SHA256.HashData(files[i])), uploaded[i].Sha256Hash);
            Assert.Equal(files[i], await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded[i].StorageFilename)));
            var sidecar = JsonSerializer.Deserialize(await File.ReadAllTextAsync(Path.Combine(server.Destination, uploaded[i].StorageFilename + ".attr.json")),
                IngestJson.Default.FileRecord)!;
            Assert.Equal((uploaded[i].FileId, $"f{i}.pdf"), (sidecar.FileId, sidecar.OriginalFilename));
        }
    }

    [Fact]
    public async Task Upload_MetadataOwnerBeforeTheFile_NamesTheObject()
    {
        await using var server = await RunningServer.StartAsync();
        var form = new MultipartFormDataContent { { new StringContent("""{"owner":"ivanov"}"""), "metadata" } };
        foreach (var part in Form(Pdf(1000))) form.Add(part);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, form));
        Assert.StartsWith("report_ivanov_", uploaded.StorageFilename, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Content_WithRange_Answers206WithThoseBytes()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(100_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes)));

        using var middle = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content", range: "bytes=1000-1999");
        Assert.Equal(HttpStatusCode.PartialContent, middle.StatusCode);
        Assert.Equal("bytes 1000-1999/100000", middle.Content.Headers.ContentRange!.ToString());
        Assert.Equal(bytes[1000..2000], await middle.Content.ReadAsByteArrayAsync());

        using var tail = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content", range: "bytes=-10");
        Assert.Equal(bytes[^10..], await tail.Content.ReadAsByteArrayAsync());

        using var outside = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content", range: "bytes=100000-");
        await AssertErrorAsync(outside, 416, IngestErrors.RangeNotSatisfiable);
    }

    [Fact]
    public async Task Upload_ChunkedBodyPastTheLimit_IsCutOffWithNothingStored()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { MaxFileSize = 1 << 20 }));
        // No Content-Length at all: only counting the bytes as they come can stop it.
        using var response = await UploadAsync(server.Client, Form(Pdf(3 << 20), chunked: true));
        await AssertErrorAsync(response, 413, IngestErrors.FileTooLarge);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_FilePastTheLimitInsideAnAcceptableContentLength_IsCutOffWithNothingStored()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { MaxFileSize = 1 << 20 }));
        // The request's length passes the request limit (file limit + form overhead); the file itself is 100 KB over.
        using var response = await UploadAsync(server.Client, Form(Pdf((1 << 20) + 100_000)));
        await AssertErrorAsync(response, 413, IngestErrors.FileTooLarge);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_ContentLengthAboveTheRequestLimit_IsRefusedBeforeReading()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { MaxFileSize = 1 << 20 }));
        var (status, body) = await RawHttp.SendAsync(server.Client.BaseAddress!,
            $"POST /api/files/upload HTTP/1.1\nHost: x\nContent-Type: multipart/form-data; boundary=b\nContent-Length: {3 << 20}", []);
        Assert.Equal(413, status);
        Assert.Contains("\"error\":\"file_too_large\"", body, StringComparison.Ordinal);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Upload_ContentLengthShorterThanTheForm_Answers400WithNothingStored()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { MaxFileSize = 1 << 20 }));
        // The Content-Length says 2000 bytes; 3 MiB follow. The server reads 2000, finds the form cut short, and stores nothing.
        var form = System.Text.Encoding.ASCII.GetBytes("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n")
            .Concat(Pdf(3 << 20)).Concat(System.Text.Encoding.ASCII.GetBytes("\r\n--b--\r\n")).ToArray();
        var (status, body) = await RawHttp.SendAsync(server.Client.BaseAddress!,
            "POST /api/files/upload HTTP/1.1\nHost: x\nContent-Type: multipart/form-data; boundary=b\nContent-Length: 2000\nConnection: close", form);
        Assert.Equal(400, status);
        Assert.Contains("\"error\":\"invalid_request\"", body, StringComparison.Ordinal);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_TypeOutsideTheList_Answers415WithNothingStored()
    {
        await using var server = await RunningServer.StartAsync();
        var elf = RandomNumberGenerator.GetBytes(5000);
        new byte[] { 0x7F, 0x45, 0x4C, 0x46 }.CopyTo(elf, 0);
        // Named .pdf and sent as application/pdf: only the bytes count.
        using var response = await UploadAsync(server.Client, Form(elf, "innocent.pdf"));
        await AssertErrorAsync(response, 415, IngestErrors.MimeTypeNotAllowed);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_ImageWildcard_AcceptsAPng()
    {
        await using var server = await RunningServer.StartAsync();
        var png = RandomNumberGenerator.GetBytes(2000);
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(png, 0);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(png, "photo.png")));
        var record = (await RecordsAsync(server)).Single();
        Assert.Equal(uploaded.FileId, record.FileId);
        Assert.Equal("image/png", record.MimeType);
    }

    [Fact]
    public async Task Upload_WrongClientMd5_Answers400WithNothingStored()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(200_000);
        var wrong = Hex(MD5.HashData(Pdf(10)));
        using var response = await UploadAsync(server.Client, Form(bytes, fields: ("md5_hash", wrong)));
        await AssertErrorAsync(response, 400, IngestErrors.ChecksumMismatch);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_RightClientHashes_AreAccepted()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(50_000);
        using var response = await UploadAsync(server.Client, Form(bytes, fields: [("md5_hash", Hex(MD5.HashData(bytes)).ToUpperInvariant()), ("sha256_hash", Hex(SHA256.HashData(bytes)))]));
        await UploadedAsync(response);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("..\\boot.ini")]
    [InlineData("a/b.pdf")]
    [InlineData("CON.pdf")]
    [InlineData("bell\u0007.pdf")]
    [InlineData("")]
    public async Task Upload_BadFilename_Answers400WithNothingStored(string filename)
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await UploadAsync(server.Client, Form(Pdf(1000), filename));
        await AssertErrorAsync(response, 400, IngestErrors.InvalidFilename);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Upload_NoFilePart_Answers400()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await UploadAsync(server.Client, new MultipartFormDataContent { { new StringContent("{}"), "metadata" } });
        await AssertErrorAsync(response, 400, IngestErrors.MissingFile);
    }

    [Fact]
    public async Task Upload_NotMultipart_Answers415()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await UploadAsync(server.Client, new ByteArrayContent(Pdf(100)));
        await AssertErrorAsync(response, 415, IngestErrors.InvalidRequest);
    }

    [Fact]
    public async Task Upload_MetadataNotAnObject_Answers400WithNothingStored()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await UploadAsync(server.Client, Form(Pdf(1000), fields: ("metadata", "[1,2")));
        await AssertErrorAsync(response, 400, IngestErrors.InvalidMetadata);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Get_UnknownOrMalformedId_Answers404()
    {
        await using var server = await RunningServer.StartAsync();
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{Guid.NewGuid()}"), 404, IngestErrors.FileNotFound);
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, "/api/files/..%2F..%2Fetc/content"), 404, IngestErrors.FileNotFound);
    }

    [Fact]
    public async Task Delete_FromAnEditElement_RemovesTheObjectAndTheRecord()
    {
        await using var server = await RunningServer.StartAsync();
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(5000))));
        using var delete = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
        await AssertErrorAsync(await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}"), 404, IngestErrors.FileNotFound);
    }

    [Theory]
    [InlineData("rw")]
    [InlineData("ro")]
    [InlineData("ar")]
    public async Task Delete_FromAnElementNotInEditMode_Answers400AndKeepsTheFile(string mode)
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with
        {
            Ingest = IngestSettings.From(new IngestConfig
            {
                StorageElements = [new StorageElementConfig { Id = "se1", Location = s.Destination, Mode = "rw" }],
            }, s.Destination),
        });
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(5000))));
        Assert.Equal("se1", uploaded.StorageElementId);
        server.Server.Ingest.Elements.Replace([new StorageElementConfig { Id = "se1", Location = server.Destination + "/", Mode = mode }]);

        using var delete = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}");
        await AssertErrorAsync(delete, 400, IngestErrors.FileInReadonlyStorage);
        Assert.Equal(2, server.StoredFiles().Count);
        Assert.Single(await RecordsAsync(server));
    }
}
