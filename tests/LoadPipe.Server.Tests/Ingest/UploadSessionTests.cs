using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Files;
using LoadPipe.Server.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>Resumable uploads (`X-Upload-Session-ID`) over real HTTP: parts with Content-Range, 202 then 201, the
/// session's status, its survival across servers sharing the manifest, its checks, and its expiry by the tus sweeper.</summary>
public sealed class UploadSessionTests
{
    private static Func<ServerSettings, ServerSettings> Ingest(Func<IngestSettings, IngestSettings> change) => s =>
        s with { Ingest = change(IngestSettings.From(new IngestConfig(), s.Destination)) };

    /// <summary>One part: bytes [start, end] of <paramref name="file"/>, with Content-Range on the file part.</summary>
    public static async Task<HttpResponseMessage> PartAsync(HttpClient client, string session, byte[] file, int start, int end, string filename = "big.pdf",
        params (string Name, string Value)[] fields)
    {
        using var form = new MultipartFormDataContent();
        // The fields first: a session keeps those its first request gives before the file (or takes the last request's).
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        var part = new ByteArrayContent(file[start..(end + 1)]);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        part.Headers.Add("Content-Disposition", $"form-data; name=\"file\"; filename=\"{filename}\"");
        part.Headers.ContentRange = new ContentRangeHeaderValue(start, end, file.Length);
        form.Add(part);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/files/upload") { Content = form };
        request.Headers.Add("X-Upload-Session-ID", session);
        return await client.SendAsync(request);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<JsonElement> StatusAsync(HttpClient client, string session, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync($"/api/files/upload/session/{session}");
        return await JsonAsync(response, expected);
    }

    [Fact]
    public async Task Session_ThreeParts_Answers202TwiceThen201WithTheWholeFilesHashes()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(300_000);
        var session = Guid.NewGuid().ToString();

        using (var first = await PartAsync(server.Client, session, bytes, 0, 99_999, fields: ("metadata", """{"project":"q3"}""")))
        {
            var progress = await JsonAsync(first, HttpStatusCode.Accepted);
            Assert.Equal(session, progress.GetProperty("upload_session_id").GetString());
            Assert.Equal(100_000, progress.GetProperty("bytes_uploaded").GetInt64());
            Assert.Equal(300_000, progress.GetProperty("bytes_total").GetInt64());
            Assert.Equal(33, progress.GetProperty("percent_complete").GetInt32());
        }
        var status = await StatusAsync(server.Client, session);
        Assert.Equal("in_progress", status.GetProperty("status").GetString());
        Assert.Equal(100_000, status.GetProperty("bytes_uploaded").GetInt64());
        var created = status.GetProperty("created_at").GetDateTimeOffset();
        var active = status.GetProperty("last_activity_at").GetDateTimeOffset();
        Assert.True(active >= created);
        Assert.Equal(active + TimeSpan.FromHours(2), status.GetProperty("expires_at").GetDateTimeOffset());
        // Nothing shows at the element before the last byte.
        Assert.DoesNotContain(server.StoredFiles(), f => !f.StartsWith('.'));

        using (var second = await PartAsync(server.Client, session, bytes, 100_000, 199_999))
            Assert.Equal(66, (await JsonAsync(second, HttpStatusCode.Accepted)).GetProperty("percent_complete").GetInt32());
        var uploaded = await UploadedAsync(await PartAsync(server.Client, session, bytes, 200_000, 299_999));

        Assert.Equal(300_000, uploaded.SizeBytes);
        Assert.Equal(Hex(MD5.HashData(bytes)), uploaded.Md5Hash);
        Assert.Equal(Hex(SHA256.HashData(bytes)), uploaded.Sha256Hash);
        Assert.StartsWith("big_anonymous_", uploaded.StorageFilename, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded.StorageFilename)));
        Assert.Equal([uploaded.StorageFilename, uploaded.StorageFilename + ".attr.json"], server.StoredFiles());
        var record = Assert.Single(await RecordsAsync(server));
        Assert.Equal("big.pdf", record.OriginalFilename);
        Assert.Equal("q3", record.Metadata!.Value.GetProperty("project").GetString());

        var done = await StatusAsync(server.Client, session);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(uploaded.FileId, done.GetProperty("file_id").GetString());
        Assert.Equal(300_000, done.GetProperty("bytes_uploaded").GetInt64());

        // The answer to the last part was lost and the client sends it again: the same file, not a second one.
        var again = await UploadedAsync(await PartAsync(server.Client, session, bytes, 200_000, 299_999));
        Assert.Equal(uploaded.FileId, again.FileId);
        Assert.Single(await RecordsAsync(server));
    }

    [Fact]
    public async Task Session_ContinuedByAnotherServerOnTheSameManifest_CompletesWithTheRightHashes()
    {
        var shared = Directory.CreateTempSubdirectory("lp-session-");
        try
        {
            var manifest = Path.Combine(shared.FullName, "manifest.db");
            var destination = Path.Combine(shared.FullName, "se") + "/";
            var bytes = Pdf(250_000);
            var session = Guid.NewGuid().ToString();
            await using (var before = await RunningServer.StartAsync(manifest: manifest, configure: s => s with { Destination = destination }))
            {
                using var first = await PartAsync(before.Client, session, bytes, 0, 149_999, fields: ("sha256_hash", Hex(SHA256.HashData(bytes))));
                await JsonAsync(first, HttpStatusCode.Accepted);
            }
            // A new server (a new process' state: no running hash) on the same manifest takes the session where it stands.
            await using var after = await RunningServer.StartAsync(manifest: manifest, configure: s => s with { Destination = destination });
            var status = await StatusAsync(after.Client, session);
            Assert.Equal(150_000, status.GetProperty("bytes_uploaded").GetInt64());
            var uploaded = await UploadedAsync(await PartAsync(after.Client, session, bytes, 150_000, 249_999));
            Assert.Equal(Hex(MD5.HashData(bytes)), uploaded.Md5Hash);
            Assert.Equal(Hex(SHA256.HashData(bytes)), uploaded.Sha256Hash);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(destination, uploaded.StorageFilename)));
        }
        finally
        {
            shared.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Session_PartAtTheWrongOffset_Answers409AndKeepsTheSessionWhereItStands()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(200_000);
        var session = Guid.NewGuid().ToString();
        (await PartAsync(server.Client, session, bytes, 0, 49_999)).Dispose();

        await AssertErrorAsync(await PartAsync(server.Client, session, bytes, 100_000, 149_999), 409, UploadSessionErrors.OffsetMismatch);
        Assert.Equal(50_000, (await StatusAsync(server.Client, session)).GetProperty("bytes_uploaded").GetInt64());
        // A part for a session never started (not at byte 0) is 404.
        await AssertErrorAsync(await PartAsync(server.Client, Guid.NewGuid().ToString(), bytes, 50_000, 99_999), 404, UploadSessionErrors.SessionNotFound);

        (await PartAsync(server.Client, session, bytes, 50_000, 149_999)).Dispose();
        var uploaded = await UploadedAsync(await PartAsync(server.Client, session, bytes, 150_000, 199_999));
        Assert.Equal(Hex(SHA256.HashData(bytes)), uploaded.Sha256Hash);
    }

    [Fact]
    public async Task Session_RefusedAtItsStart_KeepsNothing()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { MaxFileSize = 1 << 20 }));
        var elf = RandomNumberGenerator.GetBytes(100_000);
        new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F' }.CopyTo(elf, 0);
        var session = Guid.NewGuid().ToString();
        await AssertErrorAsync(await PartAsync(server.Client, session, elf, 0, 49_999, "a.pdf"), 415, IngestErrors.MimeTypeNotAllowed);
        await StatusAsync(server.Client, session, HttpStatusCode.NotFound);

        var large = Pdf((1 << 20) + 1);
        await AssertErrorAsync(await PartAsync(server.Client, session, large, 0, 99_999), 413, IngestErrors.FileTooLarge);
        await AssertErrorAsync(await PartAsync(server.Client, session, Pdf(1000), 0, 499, "../x.pdf"), 400, IngestErrors.InvalidFilename);

        using var form = Form(Pdf(1000));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/files/upload") { Content = form };
        request.Headers.Add("X-Upload-Session-ID", session);
        await AssertErrorAsync(await server.Client.SendAsync(request), 400, UploadSessionErrors.InvalidContentRange);
        using var notUuid = new HttpRequestMessage(HttpMethod.Post, "/api/files/upload") { Content = Form(Pdf(1000)) };
        notUuid.Headers.Add("X-Upload-Session-ID", "../../etc");
        await AssertErrorAsync(await server.Client.SendAsync(notUuid), 400, IngestErrors.InvalidRequest);

        Assert.Empty(server.StoredFiles());
        var uploads = await server.Store.UploadsAsync(default);
        Assert.Null(await uploads.GetAsync(UploadSessions.UploadIdOf(session)));
    }

    [Fact]
    public async Task Session_WrongHashGivenAtTheStart_FailsAtTheEndWithNothingStored()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = Pdf(120_000);
        var session = Guid.NewGuid().ToString();
        (await PartAsync(server.Client, session, bytes, 0, 59_999, fields: ("md5_hash", new string('0', 32)))).Dispose();
        await AssertErrorAsync(await PartAsync(server.Client, session, bytes, 60_000, 119_999), 400, IngestErrors.ChecksumMismatch);

        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
        var status = await StatusAsync(server.Client, session);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal(IngestErrors.ChecksumMismatch, status.GetProperty("error").GetString());
        // The session is over: a part sent again is refused, and says why.
        await AssertErrorAsync(await PartAsync(server.Client, session, bytes, 60_000, 119_999), 409, UploadSessionErrors.SessionFailed);
    }

    [Fact]
    public async Task Session_IdlePastItsTtl_IsSweptByTheTusSweeper()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(time: time, configure: s => Ingest(i => i with { UploadSessionTtl = TimeSpan.FromMinutes(30) })(s));
        var bytes = Pdf(100_000);
        var session = Guid.NewGuid().ToString();
        (await PartAsync(server.Client, session, bytes, 0, 49_999)).Dispose();
        var expires = (await StatusAsync(server.Client, session)).GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expires - time.GetUtcNow(), TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(30) + TimeSpan.FromSeconds(1));

        // The tus HEAD does not see an API session: it is the API's, with its checks.
        using (var head = await server.Client.SendAsync(RunningServer.Tus(HttpMethod.Head, "/files/" + UploadSessions.UploadIdOf(session))))
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);

        time.Advance(TimeSpan.FromMinutes(31));
        var uploads = await server.Store.UploadsAsync(default);
        await Poll.UntilAsync(async () => await uploads.GetAsync(UploadSessions.UploadIdOf(session)) is null, () => "the sweeper did not remove the expired session");
        await StatusAsync(server.Client, session, HttpStatusCode.NotFound);
        await AssertErrorAsync(await PartAsync(server.Client, session, bytes, 50_000, 99_999), 404, UploadSessionErrors.SessionNotFound);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Session_TurnedOff_IsRefused()
    {
        await using var server = await RunningServer.StartAsync(configure: Ingest(i => i with { ResumableUploads = false }));
        await AssertErrorAsync(await PartAsync(server.Client, Guid.NewGuid().ToString(), Pdf(1000), 0, 999), 400, IngestErrors.InvalidRequest);
    }

    [Fact]
    public void Environment_SeedsSessionVariables_AreRead()
    {
        var settings = IngestSettings.From(IngestEnvironment.Apply(new IngestConfig(), name => name switch
        {
            "UPLOAD_SESSION_TTL_HOURS" => "3",
            "RESUMABLE_UPLOADS_ENABLED" => "false",
            _ => null,
        }), "/tmp/x/");
        Assert.Equal(TimeSpan.FromHours(3), settings.UploadSessionTtl);
        Assert.False(settings.ResumableUploads);
        Assert.Equal(TimeSpan.FromHours(2), IngestSettings.From(new IngestConfig(), "/tmp/x/").UploadSessionTtl);
    }
}
