using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>Selective compression over real HTTP: compressible types at or over `compression_min_size` are stored
/// compressed (Brotli, or gzip), read back byte-identical, Range included; other types and smaller files as sent.</summary>
public sealed class CompressionTests
{
    private const long MinSize = 1 << 20;

    private static Task<RunningServer> StartAsync(string algorithm = "brotli") => RunningServer.StartAsync(configure: s => s with
    {
        Ingest = IngestSettings.From(new IngestConfig(), s.Destination) with
        {
            CompressionMinSize = MinSize,
            CompressionAlgorithm = algorithm,
            AllowedMimeTypes = ["application/pdf", "text/plain", "image/*"],
        },
    });

    /// <summary>Text that compresses well but not trivially: numbered lines of words.</summary>
    private static byte[] Text(int size)
    {
        var text = new StringBuilder();
        var words = new[] { "storage", "element", "ingest", "upload", "brotli", "saga", "breaker", "redis", "clamd" };
        for (var i = 0; text.Length < size; i++) text.Append(i).Append(' ').Append(words[i % words.Length]).Append(' ').Append(words[i * 7 % words.Length]).Append('\n');
        return Encoding.ASCII.GetBytes(text.ToString(0, size));
    }

    private static async Task<LoadPipe.Server.Ingest.Files.FileRecord> RecordAsync(RunningServer server, string id)
    {
        using var get = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{id}");
        return JsonSerializer.Deserialize(await get.Content.ReadAsStringAsync(), IngestJson.Default.FileRecord)!;
    }

    [Theory]
    [InlineData("brotli", ".br")]
    [InlineData("gzip", ".gz")]
    public async Task Upload_CompressibleFileOverTheThreshold_IsStoredSmallerAndReadBackIdentical(string algorithm, string suffix)
    {
        await using var server = await StartAsync(algorithm);
        var bytes = Text(3 << 20);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes, "notes.txt")));

        // The answer and the record speak of the original bytes.
        Assert.Equal(bytes.Length, uploaded.SizeBytes);
        Assert.Equal(Hex(MD5.HashData(bytes)), uploaded.Md5Hash);
        Assert.Equal(Hex(SHA256.HashData(bytes)), uploaded.Sha256Hash);
        Assert.EndsWith(".txt" + suffix, uploaded.StorageFilename, StringComparison.Ordinal);

        var stored = await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded.StorageFilename));
        Assert.True(stored.Length < bytes.Length / 2, $"stored {stored.Length} bytes of {bytes.Length}");
        await using (var decompress = algorithm == "gzip"
            ? (Stream)new GZipStream(new MemoryStream(stored), CompressionMode.Decompress)
            : new BrotliStream(new MemoryStream(stored), CompressionMode.Decompress))
        {
            var plain = new MemoryStream();
            await decompress.CopyToAsync(plain);
            Assert.Equal(bytes, plain.ToArray());
        }

        var record = await RecordAsync(server, uploaded.FileId);
        Assert.Equal(algorithm, record.Compression);
        Assert.Equal(stored.Length, record.StoredSizeBytes);
        Assert.Equal(Math.Round((double)stored.Length / bytes.Length, 4), record.CompressionRatio);

        using var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal(bytes.Length, content.Content.Headers.ContentLength);
        Assert.Equal(bytes, await content.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Content_RangeOfACompressedFile_GivesTheOriginalBytes()
    {
        await using var server = await StartAsync();
        var bytes = Text(2 << 20);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes, "notes.txt")));
        Assert.Equal("brotli", (await RecordAsync(server, uploaded.FileId)).Compression);

        using var middle = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content", range: "bytes=1500000-1600000");
        Assert.Equal(HttpStatusCode.PartialContent, middle.StatusCode);
        Assert.Equal($"bytes 1500000-1600000/{bytes.Length}", middle.Content.Headers.ContentRange!.ToString());
        Assert.Equal(bytes[1500000..1600001], await middle.Content.ReadAsByteArrayAsync());

        using var tail = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{uploaded.FileId}/content", range: "bytes=-100");
        Assert.Equal(bytes[^100..], await tail.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Upload_JpegOverTheThreshold_IsStoredAsSent()
    {
        await using var server = await StartAsync();
        var jpeg = RandomNumberGenerator.GetBytes(2 << 20);
        new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }.CopyTo(jpeg, 0);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(jpeg, "photo.jpg")));
        Assert.EndsWith(".jpg", uploaded.StorageFilename, StringComparison.Ordinal);
        Assert.Equal(jpeg, await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded.StorageFilename)));
        var record = await RecordAsync(server, uploaded.FileId);
        Assert.Null(record.Compression);
        Assert.Null(record.CompressionRatio);
    }

    [Fact]
    public async Task Upload_CompressibleFileUnderTheThreshold_IsStoredAsSent()
    {
        await using var server = await StartAsync();
        var bytes = Text(200_000);
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(bytes, "small.txt")));
        Assert.EndsWith(".txt", uploaded.StorageFilename, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(server.Destination, uploaded.StorageFilename)));
        Assert.Null((await RecordAsync(server, uploaded.FileId)).Compression);
    }

    [Fact]
    public async Task Upload_CompressibleFileOverTheLimit_IsCutOffWithNothingStored()
    {
        await using var server = await RunningServer.StartAsync(configure: s => s with
        {
            Ingest = IngestSettings.From(new IngestConfig(), s.Destination) with
            {
                CompressionMinSize = MinSize, MaxFileSize = 2 << 20, AllowedMimeTypes = ["text/plain"],
            },
        });
        using var response = await UploadAsync(server.Client, Form(Text((2 << 20) + 200_000), "big.txt"));
        await AssertErrorAsync(response, 413, IngestErrors.FileTooLarge);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Delete_CompressedFile_RemovesTheObject()
    {
        await using var server = await StartAsync();
        var uploaded = await UploadedAsync(await UploadAsync(server.Client, Form(Text(2 << 20), "notes.txt")));
        using var delete = await SendAsync(server.Client, HttpMethod.Delete, $"/api/files/{uploaded.FileId}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Empty(server.StoredFiles());
    }

    [Fact]
    public async Task Upload_ChunkedCompressibleFile_DecidedFromItsBytes()
    {
        await using var server = await StartAsync();
        // No Content-Length: over the threshold it is compressed all the same, under it stored as sent.
        var large = Text(3 << 20);
        var compressed = await UploadedAsync(await UploadAsync(server.Client, Form(large, "large.txt", chunked: true)));
        Assert.EndsWith(".txt.br", compressed.StorageFilename, StringComparison.Ordinal);
        Assert.Equal(Hex(SHA256.HashData(large)), compressed.Sha256Hash);
        Assert.Equal(large.Length, compressed.SizeBytes);
        Assert.True(new FileInfo(Path.Combine(server.Destination, compressed.StorageFilename)).Length < large.Length / 2);
        var record = await RecordAsync(server, compressed.FileId);
        Assert.Equal("brotli", record.Compression);
        Assert.True(record.CompressionRatio < 0.5, $"ratio {record.CompressionRatio}");
        using (var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{compressed.FileId}/content"))
            Assert.Equal(large, await content.Content.ReadAsByteArrayAsync());

        var small = Text((int)MinSize - 1);
        var asSent = await UploadedAsync(await UploadAsync(server.Client, Form(small, "small.txt", chunked: true)));
        Assert.EndsWith(".txt", asSent.StorageFilename, StringComparison.Ordinal);
        Assert.Equal(small, await File.ReadAllBytesAsync(Path.Combine(server.Destination, asSent.StorageFilename)));
        Assert.Null((await RecordAsync(server, asSent.FileId)).Compression);
    }

    [Fact]
    public async Task BatchUpload_CompressibleFiles_DecidedFromEachFilesBytes()
    {
        await using var server = await StartAsync();
        var large = Text(2 << 20);
        var small = Text(100_000);
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(large), "files", "large.txt" },
            { new ByteArrayContent(small), "files", "small.txt" },
        };
        using var response = await server.Client.PostAsync("/api/files/batch/upload", form);
        var body = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), IngestJson.Default.BatchBody)!;
        Assert.Equal(new LoadPipe.Server.Ingest.Files.BatchSummary(2, 2, 0), body.Summary);
        var largeRecord = await RecordAsync(server, body.Results[0].FileId!);
        var smallRecord = await RecordAsync(server, body.Results[1].FileId!);
        Assert.Equal("brotli", largeRecord.Compression);
        Assert.Null(smallRecord.Compression);
        Assert.Equal(Hex(SHA256.HashData(large)), largeRecord.Sha256Hash);
        using var content = await SendAsync(server.Client, HttpMethod.Get, $"/api/files/{largeRecord.FileId}/content");
        Assert.Equal(large, await content.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ReadAhead_StopsAtTheThresholdOrTheEnd()
    {
        var bytes = Text(5000);
        var (head, size) = await LoadPipe.Server.Ingest.Compression.StoredCompression.ReadAheadAsync(new MemoryStream(bytes[100..]), bytes.AsMemory(0, 100), 1000, 1 << 20, CancellationToken.None);
        Assert.Equal(bytes[..1000], head.ToArray());
        Assert.Equal(1000, size);
        (head, size) = await LoadPipe.Server.Ingest.Compression.StoredCompression.ReadAheadAsync(new MemoryStream(bytes[100..]), bytes.AsMemory(0, 100), 10_000, 1 << 20, CancellationToken.None);
        Assert.Equal(bytes, head.ToArray());
        Assert.Equal(5000, size);
        // A threshold above the read-ahead limit: read up to the limit only, and taken as large enough.
        var big = new byte[LoadPipe.Server.Ingest.Compression.StoredCompression.ReadAheadLimit + 10];
        (head, size) = await LoadPipe.Server.Ingest.Compression.StoredCompression.ReadAheadAsync(new MemoryStream(big), ReadOnlyMemory<byte>.Empty, 1L << 30, 2L << 30, CancellationToken.None);
        Assert.Equal(LoadPipe.Server.Ingest.Compression.StoredCompression.ReadAheadLimit, head.Length);
        Assert.Equal(1L << 30, size);
    }
}
