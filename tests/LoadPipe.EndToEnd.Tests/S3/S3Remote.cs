using System.Globalization;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using LoadPipe.EndToEnd.Tests.Running;

namespace LoadPipe.EndToEnd.Tests.S3;

/// <summary>
/// The S3 server the end-to-end tests copy to: tests/s3rver/server.js, started by scripts/test.sh, which exports
/// LP_TEST_S3_ENDPOINT. Keys S3RVER / S3RVER, bucket test-bucket, path-style addressing; every test writes under a
/// prefix of its own. lp reaches it as the remote <see cref="Name"/>, defined in the sandbox's default config file;
/// the tests look behind lp's back with the AWS SDK.
/// </summary>
public static class S3Remote
{
    public const string Name = "s3remote";
    public const string Bucket = "test-bucket";
    public const string AccessKey = "S3RVER";
    public const string EndpointVariable = "LP_TEST_S3_ENDPOINT";

    private static readonly Lazy<AmazonS3Client> SharedClient = new(() => new AmazonS3Client(
        new BasicAWSCredentials(AccessKey, AccessKey),
        new AmazonS3Config
        {
            ServiceURL = Endpoint,
            AuthenticationRegion = "us-east-1",
            ForcePathStyle = true,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        }));

    public static string Endpoint =>
        Environment.GetEnvironmentVariable(EndpointVariable) is { Length: > 0 } endpoint ? endpoint.TrimEnd('/')
            : throw new InvalidOperationException(
                $"{EndpointVariable} is not set: run scripts/test.sh, or start tests/s3rver/server.js (see its header) and export {EndpointVariable}=http://127.0.0.1:PORT");

    /// <summary>A fresh key prefix ("name-0123abcd"), so tests running side by side never see each other's objects.</summary>
    public static string NewPrefix(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];

    /// <summary>"s3remote:test-bucket/PREFIX/": the folder location lp copies into.</summary>
    public static string Folder(string prefix) => $"{Name}:{Bucket}/{prefix}/";

    /// <summary>Writes the sandbox's default config file (lp finds it through XDG_CONFIG_HOME) with the remote
    /// <see cref="Name"/> on <paramref name="endpoint"/> (default: the shared server).</summary>
    public static void Configure(Sandbox sandbox, string? endpoint = null, string secret = AccessKey) =>
        File.WriteAllText(sandbox.PathOf(".config/loadpipe/config.yaml"), string.Create(CultureInfo.InvariantCulture, $"""
            remotes:
              {Name}:
                type: s3
                endpoint: {endpoint ?? Endpoint}
                region: us-east-1
                path_style: true
                access_key_id: {AccessKey}
                secret_access_key: {secret}

            """));

    /// <summary>Copies everything under <paramref name="prefix"/> back to a new local folder with `lp copy`, and returns
    /// the folder.</summary>
    public static async Task<string> DownloadAsync(Sandbox sandbox, string prefix)
    {
        var folder = Path.Combine(sandbox.Root, "back-" + Guid.NewGuid().ToString("N")[..8]);
        (await sandbox.LpAsync("copy", Folder(prefix), folder + "/", "--json")).AssertExitCode(0);
        return folder;
    }

    /// <summary>An SDK client on the shared server, for looking behind lp's back.</summary>
    public static AmazonS3Client Client => SharedClient.Value;

    /// <summary>The multipart uploads in progress under <paramref name="prefix"/> (ListMultipartUploads).</summary>
    public static async Task<IReadOnlyList<MultipartUpload>> UploadsAsync(string prefix)
    {
        var response = await Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Bucket, Prefix = prefix + "/" });
        return response.MultipartUploads ?? [];
    }

    /// <summary>How many parts the server holds of the one upload in progress under <paramref name="prefix"/>; 0 while
    /// there is none (ListMultipartUploads, then ListParts).</summary>
    public static async Task<int> PartsUploadedAsync(string prefix)
    {
        var upload = (await UploadsAsync(prefix)).SingleOrDefault();
        if (upload is null) return 0;
        try
        {
            var parts = await Client.ListPartsAsync(new ListPartsRequest { BucketName = Bucket, Key = upload.Key, UploadId = upload.UploadId });
            return parts.Parts?.Count ?? 0;
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchUpload")
        {
            return 0; // completed or aborted between the two requests
        }
    }
}
