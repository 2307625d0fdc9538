using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Ingest.Validation;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>The virus scan against a real clamd (Debian's clamav-daemon, started by scripts/test.sh at LP_TEST_CLAMD with an
/// .hdb signature for the EICAR test file), over real HTTP: scanned while the bytes stream, decided before anything is stored.</summary>
public sealed class ClamAvTests
{
    /// <summary>The EICAR anti-virus test file: 68 bytes every scanner flags, harmless.</summary>
    private static readonly byte[] Eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"u8.ToArray();

    private static ClamAvSettings Clamd(bool failOpen = false)
    {
        var address = Environment.GetEnvironmentVariable("LP_TEST_CLAMD") is { Length: > 0 } a ? a
            : throw new InvalidOperationException("LP_TEST_CLAMD is not set: run scripts/test.sh, which starts clamd");
        var colon = address.LastIndexOf(':');
        return new ClamAvSettings(address[..colon], int.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromSeconds(30), failOpen);
    }

    /// <summary>A loopback port nothing listens on: taken, then let go.</summary>
    private static int DeadPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Task<RunningServer> StartAsync(ClamAvSettings clamav) => RunningServer.StartAsync(configure: s => s with
    {
        Ingest = IngestSettings.From(new IngestConfig(), s.Destination) with
        {
            ClamAv = clamav,
            AllowedMimeTypes = ["application/pdf", "text/plain"],
        },
    });

    [Fact]
    public void Eicar_HasTheSignaturesSizeAndMd5()
    {
        // The .hdb line scripts/test.sh gives clamd: 44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature.
        Assert.Equal(68, Eicar.Length);
        Assert.Equal("44d88612fea8a8f36de82e1278abb02f", Hex(MD5.HashData(Eicar)));
    }

    [Fact]
    public async Task Upload_Eicar_Answers422VirusDetectedWithNothingStored()
    {
        await using var server = await StartAsync(Clamd());
        using var response = await UploadAsync(server.Client, Form(Eicar, "eicar.txt"));
        await AssertErrorAsync(response, 422, IngestErrors.VirusDetected);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_CleanFileOfManyChunks_IsScannedAndStored()
    {
        await using var server = await StartAsync(Clamd());
        var bytes = Pdf(3 << 20);
        // Sent chunked: the scan cannot know the size up front either.
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes, chunked: true)));
        Assert.Equal(Hex(SHA256.HashData(bytes)), uploaded.Sha256Hash);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded.StorageFilename)));
    }

    [Fact]
    public async Task Upload_ClamdUnreachable_Answers503WithNothingStored()
    {
        await using var server = await StartAsync(new ClamAvSettings("127.0.0.1", DeadPort(), TimeSpan.FromSeconds(10), FailOpen: false));
        using var response = await UploadAsync(server.Client, Form(Pdf(10_000)));
        await AssertErrorAsync(response, 503, IngestErrors.VirusScanFailed);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Upload_ClamdUnreachableWithFailOpen_StoresTheFile()
    {
        await using var server = await StartAsync(new ClamAvSettings("127.0.0.1", DeadPort(), TimeSpan.FromSeconds(10), FailOpen: true));
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Pdf(10_000))));
        Assert.Single(await RecordsAsync(server));
        Assert.True(File.Exists(Path.Combine(server.Destination, uploaded.StorageFilename)));
    }

    [Fact]
    public async Task BatchUpload_EicarAmongCleanFiles_RefusesOnlyIt()
    {
        await using var server = await StartAsync(Clamd());
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(Pdf(5000)), "files", "a.pdf" },
            { new ByteArrayContent(Eicar), "files", "eicar.txt" },
            { new ByteArrayContent(Pdf(6000)), "files", "b.pdf" },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/files/batch/upload") { Content = form };
        using var response = await server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == (HttpStatusCode)207, body);
        var batch = System.Text.Json.JsonSerializer.Deserialize(body, IngestJson.Default.BatchBody)!;
        Assert.Equal(["success", "failed", "success"], batch.Results.Select(r => r.Status));
        Assert.Equal(IngestErrors.VirusDetected, batch.Results[1].Error);
        Assert.Equal(2, (await RecordsAsync(server)).Count);
        Assert.DoesNotContain(server.StoredFiles(), f => f.Contains("eicar", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tus_EicarInTwoPatches_LastPatchAnswers422AndNothingIsStored()
    {
        await using var server = await StartAsync(Clamd());
        var upload = await TusCalls.CreatedAsync(server.Client, Eicar.Length, TusCalls.Metadata(("filename", "eicar.txt")));
        using (var first = await TusCalls.PatchAsync(server.Client, upload, 0, Eicar[..30]))
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);

        using var last = await TusCalls.PatchAsync(server.Client, upload, 30, Eicar[30..]);
        await TusCalls.AssertProblemAsync(last, 422);
        Assert.Null(TusCalls.Header(last, LoadPipe.Server.Tus.TusHeaders.UploadOffset));
        Assert.Empty(server.StoredFiles());
        using var head = await TusCalls.HeadAsync(server.Client, upload);
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task Tus_EicarInTheCreationRequest_Answers422AndNothingIsStored()
    {
        await using var server = await StartAsync(Clamd());
        using var request = RunningServer.Tus(HttpMethod.Post, "/files/", new ByteArrayContent(Eicar));
        request.Content!.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(LoadPipe.Server.Tus.TusHeaders.OffsetOctetStream);
        request.Headers.Add(LoadPipe.Server.Tus.TusHeaders.UploadLength, Eicar.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await server.Client.SendAsync(request);
        await TusCalls.AssertProblemAsync(response, 422);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Tus_CleanFile_IsScannedAndStored()
    {
        await using var server = await StartAsync(Clamd());
        var bytes = Pdf(2 << 20);
        var upload = await TusCalls.CreatedAsync(server.Client, bytes.Length, TusCalls.Metadata(("filename", "clean.pdf")));
        using (var first = await TusCalls.PatchAsync(server.Client, upload, 0, bytes[..(1 << 20)]))
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        using (var last = await TusCalls.PatchAsync(server.Client, upload, 1 << 20, bytes[(1 << 20)..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal(bytes.Length, TusCalls.Offset(last));
        }
        Assert.Equal(["clean.pdf"], server.StoredFiles());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, "clean.pdf")));
    }

    [Fact]
    public async Task Tus_ClamdUnreachable_LastPatchAnswers503AndNothingIsStored()
    {
        await using var server = await StartAsync(new ClamAvSettings("127.0.0.1", DeadPort(), TimeSpan.FromSeconds(10), FailOpen: false));
        var bytes = Pdf(10_000);
        var upload = await TusCalls.CreatedAsync(server.Client, bytes.Length, TusCalls.Metadata(("filename", "a.pdf")));
        using var patch = await TusCalls.PatchAsync(server.Client, upload, 0, bytes);
        await TusCalls.AssertProblemAsync(patch, 503);
        Assert.Empty(server.StoredFiles());
    }
}
