using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using LoadPipe.Hosting.Configuration;
using LoadPipe.Server.Ingest;
using LoadPipe.Server.Tests.Support;
using static LoadPipe.Server.Tests.Support.IngestCalls;

namespace LoadPipe.Server.Tests.Ingest;

/// <summary>`POST /api/files/batch/upload`: 207 with one result per file and a summary; a batch over its limits is
/// refused whole with nothing stored.</summary>
public sealed class BatchUploadTests
{
    private static MultipartFormDataContent Batch(IEnumerable<(string Name, byte[] Bytes)> files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", name);
        }
        return form;
    }

    private static async Task<HttpResponseMessage> PostAsync(RunningServer server, HttpContent form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/files/batch/upload") { Content = form };
        return await server.Client.SendAsync(request);
    }

    [Fact]
    public async Task Batch_TenFilesOneRefused_Answers207WithEachResult()
    {
        await using var server = await RunningServer.StartAsync();
        var files = Enumerable.Range(0, 10).Select(i => ($"doc{i}.pdf", Pdf(20_000 + i))).ToList();
        var elf = RandomNumberGenerator.GetBytes(3000);
        new byte[] { 0x7F, 0x45, 0x4C, 0x46 }.CopyTo(elf, 0);
        files[4] = ("tool.pdf", elf);
        using var response = await PostAsync(server, Batch(files));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == (HttpStatusCode)207, body);
        var root = JsonDocument.Parse(body).RootElement;
        var results = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(files.Select(f => f.Item1), results.Select(r => r.GetProperty("filename").GetString()));
        Assert.Equal("failed", results[4].GetProperty("status").GetString());
        Assert.Equal(IngestErrors.MimeTypeNotAllowed, results[4].GetProperty("error").GetString());
        Assert.All(results.Where((_, i) => i != 4), r => Assert.Equal("success", r.GetProperty("status").GetString()));
        Assert.Equal(20_001, results[1].GetProperty("size_bytes").GetInt64());
        Assert.Equal(10, root.GetProperty("summary").GetProperty("total").GetInt32());
        Assert.Equal(9, root.GetProperty("summary").GetProperty("succeeded").GetInt32());
        Assert.Equal(1, root.GetProperty("summary").GetProperty("failed").GetInt32());

        var records = await RecordsAsync(server);
        Assert.Equal(9, records.Count);
        foreach (var record in records)
        {
            var original = files.Single(f => f.Item1 == record.OriginalFilename).Item2;
            Assert.Equal(original, await File.ReadAllBytesAsync(Path.Combine(server.Destination, record.StorageFilename)));
        }
    }

    [Fact]
    public async Task Batch_OfOneHundredAndOneFiles_IsRefusedWithNothingStored()
    {
        await using var server = await RunningServer.StartAsync();
        using var response = await PostAsync(server, Batch(Enumerable.Range(0, 101).Select(i => ($"f{i}.pdf", Pdf(500)))));
        await AssertErrorAsync(response, 400, IngestErrors.TooManyFiles);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }

    [Fact]
    public async Task Batch_PastItsSizeLimit_IsRefusedWithNothingStored()
    {
        await using var server = await RunningServer.StartAsync(configure: s =>
            s with { Ingest = IngestSettings.From(new IngestConfig(), s.Destination) with { MaxBatchSize = 100_000 } });
        using var response = await PostAsync(server, Batch(Enumerable.Range(0, 3).Select(i => ($"f{i}.pdf", Pdf(40_000)))));
        await AssertErrorAsync(response, 413, IngestErrors.BatchTooLarge);
        Assert.Empty(server.StoredFiles());
        Assert.Empty(await RecordsAsync(server));
    }
}
