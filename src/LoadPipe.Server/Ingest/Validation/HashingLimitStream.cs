using System.Security.Cryptography;

namespace LoadPipe.Server.Ingest.Validation;

/// <summary>
/// A read-only wrapper over an upload's body that hashes MD5 and SHA-256 in the one pass the bytes make on their way
/// to the store, and cuts the body off as soon as it goes past the size limit, whatever its Content-Length said (or
/// did not say): the read that would pass it throws <see cref="IngestException"/> `file_too_large`, so no byte above the
/// limit is ever handed on. The bytes sniffed for the MIME type come first, as <paramref name="prefix"/>.
/// <para>With <paramref name="hash"/> false it only counts and cuts: for a body the push entry takes as it is, whose
/// hashes (<see cref="Core.Uploads.Upload.Received"/>) are then the file's, so that its bytes are hashed once. A body
/// that is changed on its way (compressed) must be hashed here, before the change.</para>
/// </summary>
public sealed class HashingLimitStream(ReadOnlyMemory<byte> prefix, Stream body, long limit, bool hash = true) : ForwardReadStream
{
    private readonly IncrementalHash? _md5 = hash ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
    private readonly IncrementalHash? _sha256 = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    private ReadOnlyMemory<byte> _prefix = prefix;
    private long _length;

    /// <summary>Bytes handed on so far.</summary>
    public long BytesRead => _length;

    /// <summary>True once a byte beyond the prefix was taken from the body: from then on the upload cannot start over elsewhere.</summary>
    public bool BodyTouched { get; private set; }

    /// <summary>True once the body's end was read: only then are the hashes the file's.</summary>
    public bool Finished { get; private set; }

    public string Md5Hex() => Convert.ToHexStringLower((_md5 ?? throw new InvalidOperationException("made without hashing")).GetCurrentHash());
    public string Sha256Hex() => Convert.ToHexStringLower((_sha256 ?? throw new InvalidOperationException("made without hashing")).GetCurrentHash());

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        if (_prefix.Length > 0)
        {
            n = Math.Min(buffer.Length, _prefix.Length);
            _prefix[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
        }
        else
        {
            BodyTouched = true;
            n = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        if (n == 0)
        {
            Finished = true;
            return 0;
        }
        if (_length + n > limit)
            throw new IngestException(413, IngestErrors.FileTooLarge, $"the file is larger than the limit of {limit} bytes");
        _length += n;
        var taken = buffer.Span[..n];
        _md5?.AppendData(taken);
        _sha256?.AppendData(taken);
        return n;
    }

    public override long Position { get => _length; set => throw new NotSupportedException(); }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _md5?.Dispose();
            _sha256?.Dispose();
        }
        base.Dispose(disposing);
    }
}
