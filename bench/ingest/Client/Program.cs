// The load generator for bench/ingest.sh: COUNT uploads of MIB MiB each through POST URL as multipart/form-data (one
// `file` part named report.pdf, a PDF's magic bytes and then random bytes, each body different), CONCURRENCY at a time
// over keep-alive connections. Prints one JSON line: uploads/s, MiB/s, p50/p99 latency (ms, request to answer) and the
// failures (any answer but 201). Arguments: URL COUNT MIB CONCURRENCY [TOKEN].
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;

var url = new Uri(args[0]);
var count = int.Parse(args[1], CultureInfo.InvariantCulture);
var size = (int)(double.Parse(args[2], CultureInfo.InvariantCulture) * (1 << 20));
var concurrency = int.Parse(args[3], CultureInfo.InvariantCulture);
var token = args.Length > 4 ? args[4] : null;

// One random buffer; each upload's body differs in its first bytes after the PDF header, so no two files are the same.
var template = RandomNumberGenerator.GetBytes(size);
"%PDF-1.7\n"u8.CopyTo(template);

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
{
    Timeout = TimeSpan.FromMinutes(10),
};
var latencies = new double[count];
var failures = 0;
string? firstError = null;
var next = -1;
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
{
    var body = (byte[])template.Clone();
    while (true)
    {
        var i = Interlocked.Increment(ref next);
        if (i >= count) return;
        BitConverter.TryWriteBytes(body.AsSpan(9), i);
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(body);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        form.Add(part, "file", "report.pdf");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = form };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request);
            var answer = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode != 201)
            {
                Interlocked.Increment(ref failures);
                Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} {answer}", null);
            }
        }
        catch (HttpRequestException e)
        {
            Interlocked.Increment(ref failures);
            Interlocked.CompareExchange(ref firstError, e.Message, null);
        }
        latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}));
var seconds = clock.Elapsed.TotalSeconds;
Array.Sort(latencies);
double Percentile(double p) => latencies[Math.Min(count - 1, (int)Math.Ceiling(p * count) - 1)];
var mib = (double)size * count / (1 << 20);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"uploads\":{count},\"seconds\":{seconds:F3},\"uploads_per_s\":{count / seconds:F1},\"mibps\":{mib / seconds:F1},\"p50_ms\":{Percentile(0.50):F1},\"p99_ms\":{Percentile(0.99):F1},\"failures\":{failures},\"first_error\":{System.Text.Json.JsonSerializer.Serialize(firstError)}}}"));
return failures == 0 ? 0 : 1;
