using System.Text;
using LoadPipe.Core.Errors;

namespace LoadPipe.Storage.S3;

/// <summary>
/// A location inside an S3 remote: "bucket", "bucket/prefix/" or "bucket/key". Keys are checked against S3's
/// 1024-byte limit before any request is sent, so the user gets one clear line instead of a server error.
/// </summary>
internal readonly record struct S3Path(string Remote, string Bucket, string Key)
{
    public static S3Path Parse(string remote, string path)
    {
        var text = path.TrimStart('/');
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? text : text[..slash];
        var key = slash < 0 ? "" : text[(slash + 1)..];
        if (bucket.Length == 0)
            throw new LoadPipeException(ErrorKind.Usage, $"'{remote}:{path}' names no bucket: write {remote}:BUCKET/KEY");
        var bytes = Encoding.UTF8.GetByteCount(key);
        if (bytes > S3Defaults.MaxKeyBytes)
            throw new LoadPipeException(ErrorKind.Usage,
                $"{remote}:{bucket}/{key[..40]}...: the key is {bytes} bytes long, and S3 allows at most {S3Defaults.MaxKeyBytes} (UTF-8)");
        return new S3Path(remote, bucket, key);
    }

    /// <summary>Like <see cref="Parse"/>, for operations on one object: the key may not be empty or a folder.</summary>
    public static S3Path ParseObject(string remote, string path)
    {
        var p = Parse(remote, path);
        if (p.Key.Length == 0 || p.Key.EndsWith('/'))
            throw new LoadPipeException(ErrorKind.Usage, $"{p} is a bucket or folder, not an object: give a key ({remote}:BUCKET/KEY)");
        return p;
    }

    /// <summary>The key as a folder prefix: "" for the bucket, else ending in '/'.</summary>
    public string FolderPrefix => Key.Length == 0 || Key.EndsWith('/') ? Key : Key + "/";

    public override string ToString() => Key.Length == 0 ? $"{Remote}:{Bucket}" : $"{Remote}:{Bucket}/{Key}";
}
