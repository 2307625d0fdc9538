using System.Text;
using LoadPipe.EndToEnd.Tests.Data;
using LoadPipe.EndToEnd.Tests.Http;
using LoadPipe.EndToEnd.Tests.Postgres;
using LoadPipe.EndToEnd.Tests.Running;
using Npgsql;

namespace LoadPipe.EndToEnd.Tests;

/// <summary>
/// A presigned URL (its signature and token in the query string) copied, killed, signed again and copied once more:
/// the second URL resumes the first one's transfer, and neither URL's secrets are ever written to the manifest.
/// </summary>
public sealed class PresignedUrlTests(FileServer server) : IClassFixture<FileServer>
{
    private const int Size = 16 << 20;

    [Fact]
    public async Task Copy_PresignedUrlKilledThenSignedAgain_ResumesAndTheSqliteFileHoldsNoToken()
    {
        using var sandbox = new Sandbox();
        var (content, destination, secrets) = await CopyKillAndResignAsync(sandbox, "signed-sqlite.bin", seed: 31, []);

        var stored = Directory.GetFiles(Path.GetDirectoryName(sandbox.Manifest)!)
            .Select(f => (File: f, Text: Encoding.Latin1.GetString(File.ReadAllBytes(f)))).ToList();
        Assert.Contains(stored, s => s.File == sandbox.Manifest && s.Text.Contains("signed-sqlite.bin", StringComparison.Ordinal));
        foreach (var secret in secrets)
            Assert.DoesNotContain(stored, s => s.Text.Contains(secret, StringComparison.Ordinal));
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
    }

    [Fact]
    public async Task Copy_PresignedUrlKilledThenSignedAgainWithPostgresManifest_ResumesAndNoTableHoldsAToken()
    {
        using var sandbox = new Sandbox();
        await using var database = await PostgresDatabase.CreateAsync();
        var (content, destination, secrets) = await CopyKillAndResignAsync(sandbox, "signed-pg.bin", seed: 32, ["--manifest", database.ConnectionString]);

        var dump = await DumpAsync(database);
        Assert.Contains("signed-pg.bin", dump, StringComparison.Ordinal);
        foreach (var secret in secrets)
            Assert.DoesNotContain(secret, dump, StringComparison.Ordinal);
        Assert.Equal(Digest.Sha256(content), Digest.Sha256OfFile(destination));
    }

    /// <summary>Copies <paramref name="name"/> through one signed URL, kills lp part way, and copies it again through
    /// the URL signed anew: asserts the second run resumed. Returns the content, the destination and the secrets of
    /// both URLs.</summary>
    private async Task<(byte[] Content, string Destination, string[] Secrets)> CopyKillAndResignAsync(Sandbox sandbox, string name, int seed, string[] manifest)
    {
        var content = server.PublishRandom(name, Size, seed);
        var destination = sandbox.PathOf("out/" + name);
        var partial = Sandbox.PartialOf(destination);
        var first = Signed(name, "Signature1f7a3c9e", "Token1b82d4f6", "20261206T230000Z");
        var second = Signed(name, "Signature2c0e5b17", "Token2e93a1d8", "20261206T231500Z");
        string[] options = ["--chunk-size", "1M", "--json", .. manifest];
        Func<Task<long>> confirmed = manifest.Length == 0 ? () => ManifestProbe.ConfirmedBytesAsync(sandbox) : () => ConfirmedAsync(manifest[1]);
        await using (var lp = LpProcess.Start(sandbox, ["copy", first.Url, destination, "--bwlimit", "4M", .. options, .. Default(manifest, sandbox)]))
        {
            await Poll.UntilAsync(() => Poll.LengthOf(partial) >= 4 << 20, TimeSpan.FromSeconds(60),
                () => $"{partial} holds {Poll.LengthOf(partial)} bytes (lp exited: {lp.HasExited})", giveUp: () => lp.HasExited);
            await lp.KillAsync();
        }
        var before = await confirmed();
        Assert.InRange(before, 1, Size - 1);

        var run = await LpProcess.RunAsync(sandbox, ["copy", second.Url, destination, .. options, .. Default(manifest, sandbox)]);

        run.AssertExitCode(0);
        Assert.Equal(before, run.Summary.BytesResumed);
        Assert.Equal(Size - before, run.Summary.BytesSent);
        return (content, destination, [.. first.Secrets, .. second.Secrets]);
    }

    /// <summary>A URL shaped as an S3 presigned one (SigV4 with a session token), whose query the test server ignores.</summary>
    private (string Url, string[] Secrets) Signed(string name, string signature, string token, string date) =>
        ($"{server.UrlOf(name)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261206%2Fus-east-1%2Fs3%2Faws4_request"
            + $"&X-Amz-Date={date}&X-Amz-Expires=900&X-Amz-Security-Token={token}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}",
            [signature, token, "AKIDEXAMPLE"]);

    // The sandbox's SQLite manifest unless the test names one.
    private static string[] Default(string[] manifest, Sandbox sandbox) => manifest.Length == 0 ? ["--manifest", sandbox.Manifest] : [];

    private static async Task<long> ConfirmedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COALESCE(MAX(bytes_confirmed), 0) FROM transfers", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of every table of the database's schema, as JSON text.</summary>
    private static async Task<string> DumpAsync(PostgresDatabase database)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
            + "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')", connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        Assert.Contains(tables, t => t.EndsWith(".transfers", StringComparison.Ordinal));
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            await using var rows = new NpgsqlCommand($"SELECT row_to_json(t)::text FROM {table} t", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync()) dump.AppendLine(reader.GetString(0));
        }
        return dump.ToString();
    }
}
