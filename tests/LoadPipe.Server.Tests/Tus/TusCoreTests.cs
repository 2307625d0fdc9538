using System.Net;
using System.Security.Cryptography;
using LoadPipe.Server.Tests.Support;
using LoadPipe.Server.Tus;
using static LoadPipe.Server.Tests.Support.TusCalls;

namespace LoadPipe.Server.Tests.Tus;

/// <summary>The core protocol and creation, over real HTTP: what tus 1.0.0 says each request gets.</summary>
public sealed class TusCoreTests
{
    [Fact]
    public async Task Options_AnnouncesVersionExtensionsMaxSizeAndChecksums_WithoutTusResumable()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { MaxSize = 12345 });
        using var response = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, TusHeaders.TusVersion));
        Assert.Equal("creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation", Header(response, TusHeaders.Extension));
        Assert.Equal("12345", Header(response, TusHeaders.MaxSize));
        Assert.Equal("sha1,md5,sha256", Header(response, TusHeaders.ChecksumAlgorithm));
        Assert.Null(Header(response, TusHeaders.Resumable));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0.2.2")]
    public async Task Post_UnsupportedTusResumable_Is412WithTusVersion(string? version)
    {
        await using var server = await RunningServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files/");
        request.Headers.Add(TusHeaders.UploadLength, "5");
        if (version is not null) request.Headers.Add(TusHeaders.Resumable, version);
        using var response = await server.Client.SendAsync(request);

        await AssertProblemAsync(response, 412);
        Assert.Equal("1.0.0", Header(response, TusHeaders.TusVersion));
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task MethodOverride_PostAsOptions_IsAnsweredAsOptions()
    {
        await using var server = await RunningServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files/");
        request.Headers.Add(TusHeaders.MethodOverride, "OPTIONS");
        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, TusHeaders.TusVersion));
    }

    [Theory]
    [InlineData(null, null, null, 400)]                                  // neither Upload-Length nor Upload-Defer-Length
    [InlineData("-1", null, null, 400)]                                  // negative
    [InlineData("ten", null, null, 400)]                                 // not a number
    [InlineData("99999999999999999999", null, null, 400)]                // past a 64-bit integer
    [InlineData("1048577", null, null, 413)]                             // above Tus-Max-Size (1 MiB here)
    [InlineData("5", "1", null, 400)]                                    // both
    [InlineData(null, "2", null, 400)]                                   // Upload-Defer-Length other than 1
    [InlineData("5", null, "filename not-base64!", 400)]                 // metadata that is not Base64
    [InlineData("5", null, "filename Li4vLi4vZXRjL3Bhc3N3ZA==", 400)]    // "../../etc/passwd"
    [InlineData("5", null, "filename Li4=", 400)]                        // ".."
    [InlineData("5", null, "filename YS9i", 400)]                        // "a/b"
    [InlineData("5", null, "filename YVxi", 400)]                        // "a\b"
    [InlineData("5", null, "filename YQpi", 400)]                        // "a\nb"
    [InlineData("5", null, "filename YQ==,filename Yg==", 400)]          // a key twice
    [InlineData("5", null, "a YQ==,,b YQ==", 400)]                       // an empty key
    public async Task Post_BadInput_GetsTheProtocolsAnswerAndStoresNothing(string? length, string? defer, string? metadata, int status)
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with { MaxSize = 1 << 20 });
        using var request = RunningServer.Tus(HttpMethod.Post, "/files/");
        if (length is not null) request.Headers.TryAddWithoutValidation(TusHeaders.UploadLength, length);
        if (defer is not null) request.Headers.Add(TusHeaders.UploadDeferLength, defer);
        if (metadata is not null) request.Headers.TryAddWithoutValidation(TusHeaders.UploadMetadata, metadata);
        using var response = await server.Client.SendAsync(request);

        await AssertProblemAsync(response, status);
        Assert.Null(response.Headers.Location);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task UnknownPath_GetsAProblemBody()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await server.Client.GetAsync("/nothing-here");
        await AssertProblemAsync(response, 404);
    }

    [Fact]
    public async Task Head_UnknownUpload_Is404WithoutOffset()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await HeadAsync(server.Client, new Uri(server.Client.BaseAddress!, "/files/0123456789abcdef0123456789abcdef"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(Header(response, TusHeaders.UploadOffset));
        Assert.Equal("1.0.0", Header(response, TusHeaders.Resumable));
    }

    [Fact]
    public async Task CreateHeadPatch_InTwoParts_MakesTheObjectNamedByItsFilename()
    {
        await using var server = await RunningServer.StartAsync();
        var bytes = RandomNumberGenerator.GetBytes(100_003);
        var upload = await CreatedAsync(server.Client, bytes.Length, Metadata(("filename", "report.bin"), ("type", "application/x")));
        Assert.StartsWith(server.Client.BaseAddress + "files/", upload.ToString(), StringComparison.Ordinal);

        using (var head = await HeadAsync(server.Client, upload))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(0, Offset(head));
            Assert.Equal("100003", Header(head, TusHeaders.UploadLength));
            Assert.Equal(Metadata(("filename", "report.bin"), ("type", "application/x")), Header(head, TusHeaders.UploadMetadata));
            Assert.Equal("no-store", Header(head, "Cache-Control"));
            Assert.NotNull(Header(head, TusHeaders.UploadExpires));
        }
        using (var first = await PatchAsync(server.Client, upload, 0, bytes[..40_001]))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal(40_001, Offset(first));
            Assert.NotNull(Header(first, TusHeaders.UploadExpires));
        }
        using (var head = await HeadAsync(server.Client, upload))
            Assert.Equal(40_001, Offset(head));
        using (var second = await PatchAsync(server.Client, upload, 40_001, bytes[40_001..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
            Assert.Equal(bytes.Length, Offset(second));
        }

        Assert.Equal(["report.bin"], server.StoredFiles());
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.Destination, "report.bin"))));
    }

    [Fact]
    public async Task Post_SameFilenameTwice_GivesTwoDistinctObjects()
    {
        await using var server = await RunningServer.StartAsync();
        var a = await CreatedAsync(server.Client, 1, Metadata(("filename", "same.txt")));
        var b = await CreatedAsync(server.Client, 1, Metadata(("filename", "same.txt")));
        (await PatchAsync(server.Client, a, 0, "a"u8.ToArray())).Dispose();
        (await PatchAsync(server.Client, b, 0, "b"u8.ToArray())).Dispose();

        var files = server.StoredFiles();
        Assert.Equal(2, files.Count);
        Assert.Contains("same.txt", files);
        Assert.Equal("ab", string.Concat(files.Select(f => File.ReadAllText(Path.Combine(server.Destination, f))).Order()));
    }

    [Theory]
    [InlineData("a", ".bin")]   // 1-byte characters
    [InlineData("é", ".txt")]   // 2-byte characters: the cut must not split one
    [InlineData("🙂", "")]      // 4-byte characters (a surrogate pair in .NET), no extension
    public async Task Post_FilenameNear255BytesTwice_BothNamesAreCutToTheLimitAndKept(string character, string extension)
    {
        await using var server = await RunningServer.StartAsync();
        var stem = string.Concat(Enumerable.Repeat(character, (255 - extension.Length) / System.Text.Encoding.UTF8.GetByteCount(character)));
        var filename = stem + extension;
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(filename), 250, 255);
        var a = await CreatedAsync(server.Client, 1, Metadata(("filename", filename)));
        var b = await CreatedAsync(server.Client, 1, Metadata(("filename", filename)));
        using (var patch = await PatchAsync(server.Client, a, 0, "a"u8.ToArray())) Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        using (var patch = await PatchAsync(server.Client, b, 0, "b"u8.ToArray())) Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);

        var files = server.StoredFiles();
        Assert.Equal(2, files.Count);
        foreach (var file in files)
        {
            Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(file), 1, ObjectNames.MaxObjectName);
            Assert.DoesNotContain('\uFFFD', file);
            Assert.False(char.IsHighSurrogate(file[^(extension.Length + 1)]), $"{file} ends in half a character");
            Assert.EndsWith(extension, file, StringComparison.Ordinal);
            Assert.StartsWith(character, file, StringComparison.Ordinal);
        }
        Assert.Equal("ab", string.Concat(files.Select(f => File.ReadAllText(Path.Combine(server.Destination, f))).Order()));
    }

    [Fact]
    public void ObjectNames_WithId_CutsTheStemAndKeepsExtensionAndTag()
    {
        var name = new string('x', 250) + ".pdf";
        var tagged = ObjectNames.WithId(name, "1a2b3c4d");
        Assert.Equal(ObjectNames.MaxObjectName, System.Text.Encoding.UTF8.GetByteCount(tagged));
        Assert.EndsWith("x-1a2b3c4d.pdf", tagged, StringComparison.Ordinal);
        Assert.Equal("report-1a2b3c4d.pdf", ObjectNames.WithId("report.pdf", "1a2b3c4d"));
        Assert.Equal("report.pdf", ObjectNames.Fit("report.pdf"));
        // An extension too long to keep goes with the stem.
        var longExtension = "a." + new string('e', 250);
        Assert.Equal(ObjectNames.MaxObjectName, System.Text.Encoding.UTF8.GetByteCount(ObjectNames.WithId(longExtension, "1a2b3c4d")));
        Assert.EndsWith("-1a2b3c4d", ObjectNames.WithId(longExtension, "1a2b3c4d"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discard_AnUploadMadeInError_LeavesNoTransferForLpStatus()
    {
        // What the server does when its claim of an object name lost a race (the object appeared once the upload was
        // made): the upload goes with its transfer, so `lp status` shows no failed "upload aborted" file.
        await using var server = await RunningServer.StartAsync();
        var running = await CreatedAsync(server.Client, 2, Metadata(("filename", "running.txt")));
        var uploads = await server.Store.UploadsAsync(default);
        var upload = await uploads.CreateAsync(new Core.Uploads.NewUpload
        {
            Id = TusStore.NewId(), Destination = server.Store.Destination.Child("made-in-error.txt"), Length = 3,
        });
        var manifest = await server.Host.ManifestAsync();
        Assert.Equal(2, await manifest.ListTransfersAsync(null).CountAsync());

        Assert.True(await uploads.DiscardAsync(upload.Id));
        Assert.Null(await uploads.GetAsync(upload.Id));
        var left = await manifest.ListTransfersAsync(null).ToListAsync();
        var transfer = Assert.Single(left);
        Assert.NotEqual(Core.Manifest.TransferStatus.Failed, transfer.Status);
        Assert.False(await uploads.DiscardAsync(upload.Id));
        // An upload that received bytes is aborted, never discarded.
        (await PatchAsync(server.Client, running, 0, "r"u8.ToArray())).Dispose();
        await Assert.ThrowsAsync<Core.Uploads.UploadConflictException>(() => uploads.DiscardAsync(running.Segments[^1]));
        Assert.NotNull(await uploads.GetAsync(running.Segments[^1]));
    }

    [Fact]
    public async Task Post_ZeroLength_MakesAnEmptyObjectAtOnce()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, 0, Metadata(("filename", "empty")));
        using var head = await HeadAsync(server.Client, upload);
        Assert.Equal(0, Offset(head));
        Assert.Equal(["empty"], server.StoredFiles());
        Assert.Equal(0, new FileInfo(Path.Combine(server.Destination, "empty")).Length);
    }

    [Fact]
    public async Task Patch_WrongOffset_Is409AndChangesNothing()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, 10);
        (await PatchAsync(server.Client, upload, 0, new byte[4])).Dispose();

        using var response = await PatchAsync(server.Client, upload, 3, new byte[6]);
        await AssertProblemAsync(response, 409);
        using var head = await HeadAsync(server.Client, upload);
        Assert.Equal(4, Offset(head));
    }

    [Fact]
    public async Task Patch_WrongContentType_Is415()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, 10);
        using var response = await PatchAsync(server.Client, upload, 0, new byte[4], contentType: "application/octet-stream");
        await AssertProblemAsync(response, 415);
        using var head = await HeadAsync(server.Client, upload);
        Assert.Equal(0, Offset(head));
    }

    [Fact]
    public async Task Patch_BodyLongerThanDeclared_Is413AndStoresNothing()
    {
        await using var server = await RunningServer.StartAsync();
        var upload = await CreatedAsync(server.Client, 10, Metadata(("filename", "ten")));
        using var response = await PatchAsync(server.Client, upload, 0, new byte[11]);
        await AssertProblemAsync(response, 413);
        using var head = await HeadAsync(server.Client, upload);
        Assert.Equal(0, Offset(head));
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Post_WithUpload_TakesTheBodyAndAnswersItsOffset()
    {
        await using var server = await RunningServer.StartAsync();
        var content = new ByteArrayContent("hello"u8.ToArray());
        content.Headers.ContentType = new(TusHeaders.OffsetOctetStream);
        using var request = RunningServer.Tus(HttpMethod.Post, "/files/", content);
        request.Headers.Add(TusHeaders.UploadLength, "11");
        request.Headers.Add(TusHeaders.UploadMetadata, Metadata(("filename", "greeting")));
        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(5, Offset(response));
        using var rest = await PatchAsync(server.Client, response.Headers.Location!, 5, " world"u8.ToArray());
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        Assert.Equal("hello world", await File.ReadAllTextAsync(Path.Combine(server.Destination, "greeting")));
    }

    [Fact]
    public async Task Patch_OnAFullDisk_Is507AndKeepsWhatWasAcknowledged()
    {
        const string variable = "LP_TEST_SMALL_DISK";
        var smallDisk = Environment.GetEnvironmentVariable(variable);
        Assert.False(string.IsNullOrEmpty(smallDisk),
            $"{variable} is not set: run the tests with scripts/test.sh, which mounts a 4 MiB tmpfs for this test "
            + $"(or: mkdir -p /tmp/small && mount -t tmpfs -o size=4m tmpfs /tmp/small && export {variable}=/tmp/small)");
        var folder = Directory.CreateDirectory(Path.Combine(smallDisk, "lp-server-" + Guid.NewGuid().ToString("N")));
        try
        {
            await using var server = await RunningServer.StartAsync(configure: s => s with { Destination = folder.FullName + "/" });
            var bytes = RandomNumberGenerator.GetBytes(8 << 20);
            var upload = await CreatedAsync(server.Client, bytes.Length, Metadata(("filename", "full.bin")));
            using (var first = await PatchAsync(server.Client, upload, 0, bytes[..(1 << 20)]))
                Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);

            using (var full = await PatchAsync(server.Client, upload, 1 << 20, bytes[(1 << 20)..]))
                await AssertProblemAsync(full, 507);

            using var head = await HeadAsync(server.Client, upload);
            Assert.InRange(Offset(head), 1 << 20, (8 << 20) - 1);
            Assert.False(File.Exists(Path.Combine(folder.FullName, "full.bin")));
            // The upload's bytes would leave the shared small disk full.
            (await server.Client.SendAsync(RunningServer.Tus(HttpMethod.Delete, upload.PathAndQuery))).Dispose();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
