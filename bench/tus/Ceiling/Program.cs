// The ceiling for bench/tus.sh: what Kestrel on this machine does with the same tus client when a server does nothing
// with the bytes. It speaks just enough tus 1.0 for tus-js-client (creation, HEAD, PATCH) and keeps only each upload's
// offset in memory. Listens on the URL given as the first argument.
using System.Collections.Concurrent;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
var app = builder.Build();
var offsets = new ConcurrentDictionary<string, long>();
var next = 0L;

app.MapMethods("/files/", ["POST"], (HttpContext http) =>
{
    var id = Interlocked.Increment(ref next).ToString(System.Globalization.CultureInfo.InvariantCulture);
    offsets[id] = 0;
    http.Response.Headers["Tus-Resumable"] = "1.0.0";
    http.Response.Headers.Location = "/files/" + id;
    return Results.StatusCode(201);
});
app.MapMethods("/files/{id}", ["HEAD"], (string id, HttpContext http) =>
{
    http.Response.Headers["Tus-Resumable"] = "1.0.0";
    http.Response.Headers["Cache-Control"] = "no-store";
    if (!offsets.TryGetValue(id, out var offset)) return Results.NotFound();
    http.Response.Headers["Upload-Offset"] = offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
    return Results.Ok();
});
app.MapMethods("/files/{id}", ["PATCH"], async (string id, HttpContext http) =>
{
    var buffer = new byte[64 * 1024];
    long read = 0;
    int n;
    while ((n = await http.Request.Body.ReadAsync(buffer, http.RequestAborted)) > 0) read += n;
    var offset = offsets.AddOrUpdate(id, read, (_, o) => o + read);
    http.Response.Headers["Tus-Resumable"] = "1.0.0";
    http.Response.Headers["Upload-Offset"] = offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
    return Results.NoContent();
});
app.Run(args.Length > 0 ? args[0] : "http://127.0.0.1:8089");
