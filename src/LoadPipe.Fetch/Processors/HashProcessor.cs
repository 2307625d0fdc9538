using System.Security.Cryptography;
using System.Text.Json.Nodes;
using LoadPipe.Fetch.Processing;

namespace LoadPipe.Fetch.Processors;

/// <summary>`md5`, `sha1`, `sha256`: the lowercase hex digest of the file's bytes, computed as they stream.</summary>
public sealed class HashProcessor : IFileProcessor
{
    private readonly HashAlgorithmName _algorithm;

    public HashProcessor(string name)
    {
        _algorithm = name switch
        {
            "md5" => HashAlgorithmName.MD5,
            "sha1" => HashAlgorithmName.SHA1,
            "sha256" => HashAlgorithmName.SHA256,
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "md5, sha1 or sha256"),
        };
        Name = name;
    }

    public string Name { get; }

    public bool NeedsPath => false;

    public async ValueTask<JsonNode?> ProcessAsync(FileData file, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(_algorithm);
        var stream = file.OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) hash.AppendData(buffer, 0, n);
        }
        return JsonValue.Create(Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
