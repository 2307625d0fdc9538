using System.Globalization;
using LoadPipe.Core.Errors;
using LoadPipe.Core.Uploads;
using LoadPipe.Hosting;

// Drives the push entry from standard input, one command a line, one answer a line on standard output:
//   create ID DESTINATION LENGTH        -> "created ID"
//   append ID OFFSET FILE START LENGTH  -> "offset N" once the append returned (its bytes durable)
//   get ID                              -> "upload ID OFFSET STATUS SHA256"
// A failed command answers "error KIND MESSAGE". Arguments: --manifest PATH [--config PATH].
string? manifest = null, config = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--manifest") manifest = args[i + 1];
    else if (args[i] == "--config") config = args[i + 1];
}
await using var host = LoadPipeHost.Create(new LoadPipeHostSettings { Manifest = manifest, ConfigPath = config });
await using var uploads = await host.CreateUploadsAsync(new UploadServiceOptions { Command = "push-probe" });
while (await Console.In.ReadLineAsync() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    try
    {
        switch (words)
        {
            case ["create", var id, var destination, var length]:
                var created = await uploads.CreateAsync(new NewUpload { Id = id, Destination = host.Resolver.Resolve(destination), Length = Number(length) });
                Console.WriteLine($"created {created.Id}");
                break;
            case ["append", var id, var offset, var file, var start, var length]:
                await using (var body = File.OpenRead(file))
                {
                    body.Position = Number(start);
                    var slice = new Slice(body, Number(length));
                    var after = await uploads.AppendAsync(id, Number(offset), slice, AppendOptions.None);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"offset {after.Offset}"));
                }
                break;
            case ["get", var id]:
                var upload = await uploads.GetAsync(id);
                Console.WriteLine(upload is null ? "none" : string.Create(CultureInfo.InvariantCulture, $"upload {upload.Id} {upload.Offset} {upload.Status} {upload.Sha256 ?? "-"}"));
                break;
            default:
                Console.WriteLine("error Usage unknown command: " + line);
                break;
        }
    }
    catch (LoadPipeException e)
    {
        Console.WriteLine($"error {e.Kind} {e.Message}");
    }
}
return 0;

static long Number(string text) => long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);

/// <summary>The next <paramref name="length"/> bytes of a stream.</summary>
internal sealed class Slice(Stream inner, long length) : Stream
{
    private long _left = length;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_left <= 0) return 0;
        var n = inner.Read(buffer, offset, (int)Math.Min(count, _left));
        _left -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_left <= 0) return 0;
        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
        _left -= n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
