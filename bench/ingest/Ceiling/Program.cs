// The ceiling for bench/ingest.sh: what Kestrel on this machine does with the same client when a server only streams
// each POST body to its own file and makes it durable (one fsync, as lp's local store does at commit), without parsing
// the form, sniffing, hashing or recording anything. Arguments: the URL to listen on, the folder to write into.
using System.Globalization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
var app = builder.Build();
var folder = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "ceiling");
Directory.CreateDirectory(folder);
var next = 0L;

app.MapPost("/api/files/upload", async (HttpContext http) =>
{
    var id = Interlocked.Increment(ref next).ToString(CultureInfo.InvariantCulture);
    long size;
    await using (var file = new FileStream(Path.Combine(folder, id), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, useAsync: true))
    {
        await http.Request.Body.CopyToAsync(file, 1 << 20, http.RequestAborted);
        file.Flush(flushToDisk: true);
        size = file.Length;
    }
    http.Response.StatusCode = 201;
    http.Response.ContentType = "application/json";
    await http.Response.WriteAsync($"{{\"file_id\":\"{id}\",\"size_bytes\":{size}}}", http.RequestAborted);
});
app.MapGet("/health/live", () => Results.Ok());
app.Run(args.Length > 0 ? args[0] : "http://127.0.0.1:8089");
