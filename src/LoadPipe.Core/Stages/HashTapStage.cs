using System.Security.Cryptography;

namespace LoadPipe.Core.Stages;

/// <summary>Passes bytes through unchanged and reports their digest at that point of the pipeline ("md5", "sha256").</summary>
public sealed class HashTapStage : IStage
{
    private readonly HashAlgorithmName _algorithm;

    public HashTapStage(string algorithm)
    {
        _algorithm = algorithm switch
        {
            "md5" => HashAlgorithmName.MD5,
            "sha1" => HashAlgorithmName.SHA1,
            "sha256" => HashAlgorithmName.SHA256,
            "sha512" => HashAlgorithmName.SHA512,
            _ => throw new Errors.LoadPipeException(Errors.ErrorKind.Usage, $"unknown hash '{algorithm}' (known: md5, sha1, sha256, sha512)"),
        };
        Spec = algorithm;
    }

    public string Spec { get; }

    public StageResume Resume => StageResume.Replay;

    public async Task RunAsync(Stream input, Stream output, StageContext context, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(_algorithm);
        var buffer = new byte[1 << 17];
        int n;
        while ((n = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        }
        context.Report(Spec, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
